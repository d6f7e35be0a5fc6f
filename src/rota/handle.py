"""RunHandle: what a launch returns, to follow the run it created."""

from __future__ import annotations

import time
from typing import Any, Protocol

from rota.errors import RunFailed
from rota.runs import Run, RunState
from rota.workflows import WorkflowRecord, WorkflowState


class RunAccess(Protocol):
    """The run verbs a handle uses (``app.runs``)."""

    def get(self, run_id: int) -> Run: ...
    def cancel(self, run_id: int) -> RunState: ...


class HasRuns(Protocol):
    """An app: a handle is made from the app that launched the run (``RunHandle(app, id)``)."""

    @property
    def runs(self) -> RunAccess: ...


class RunHandle:
    """What a launch returns, or ``RunHandle(app, run_id)``: follow, wait for, cancel a run."""

    def __init__(self, app: HasRuns, run_id: int, created: bool = True) -> None:
        self._runs = app.runs
        self.id = run_id
        self.created = created
        """False when a unique key returned an existing run."""

    def run(self) -> Run:
        """The run as stored now."""
        return self._runs.get(self.id)

    def state(self) -> RunState:
        """The run's state now (a ``str`` enum: ``handle.state() == "succeeded"`` holds)."""
        return self.run().state

    def result(self, timeout: float | None = None, poll: float = 0.02) -> Any:
        """Wait for the run to end; its return value, or ``RunFailed`` if it failed/cancelled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            run = self.run()
            if run.state is RunState.SUCCEEDED:
                return run.result
            if run.state.terminal:
                raise RunFailed(run.id, run.state.value, run.errors)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.id} is still {run.state.value} after {timeout}s")
            time.sleep(
                delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic()))
            )
            delay = min(0.5, delay * 1.5)

    def cancel(self) -> RunState:
        """Cancel the run: a pending one at once, a running one when its attempt ends."""
        return self._runs.cancel(self.id)

    def __repr__(self) -> str:
        return f"<rota.RunHandle id={self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


class WorkflowAccess(Protocol):
    """The workflow verbs a handle uses (``app.workflows``)."""

    def show(self, workflow_id: int) -> WorkflowRecord: ...
    def cancel(self, workflow_id: int) -> WorkflowRecord: ...
    def retry(self, workflow_id: int) -> list[int]: ...


class WorkflowHandle:
    """What enqueueing a workflow returns, and ``app.workflows.get(id)``: follow it."""

    def __init__(self, workflows: WorkflowAccess, workflow_id: int, created: bool = True) -> None:
        self._workflows = workflows
        self.id = workflow_id
        self.created = created
        """False when an ``@app.workflow`` run's earlier attempt had enqueued it already."""

    def workflow(self) -> WorkflowRecord:
        """The workflow and its steps as stored now."""
        return self._workflows.show(self.id)

    def state(self) -> WorkflowState:
        """The workflow's state now, from its steps' states."""
        return self.workflow().state

    def result(self, timeout: float | None = None, poll: float = 0.02) -> dict[str, Any]:
        """Wait for the workflow to end: a dict from step name to result, or ``RunFailed``
        (naming the first step that failed) if it failed or was cancelled."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            wf = self.workflow()
            if wf.state is WorkflowState.SUCCEEDED:
                return {s.name: s.result for s in wf.steps}
            if wf.state.terminal:
                raise _failure(wf)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"workflow {self.id} is still running after {timeout}s")
            time.sleep(
                delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic()))
            )
            delay = min(0.5, delay * 1.5)

    def cancel(self) -> WorkflowState:
        """Cancel every step not ended yet (running ones are asked to stop); the state then."""
        return self._workflows.cancel(self.id).state

    def retry(self) -> list[int]:
        """Put the failed and cancelled steps back; the workflow goes on from there."""
        return self._workflows.retry(self.id)

    def __repr__(self) -> str:
        return f"<rota.WorkflowHandle id={self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkflowHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("workflow", self.id))


def _failure(wf: WorkflowRecord) -> RunFailed:
    """The error of a workflow that ended failed or cancelled: its first such step's."""
    wanted = RunState.FAILED if wf.state is WorkflowState.FAILED else RunState.CANCELLED
    step = next(s for s in wf.steps if s.state is wanted)
    failure = RunFailed(step.run_id, wf.state.value, [])
    failure.args = (f"workflow {wf.id} {wf.state.value}: step {step.name!r} ended {step.state}",)
    return failure
