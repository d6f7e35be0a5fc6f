"""Workflows: steps that depend on each other, as a user builds them and as they are stored.

Pure: ``Workflow`` collects steps (each a run of a job, with the steps it comes after) and
checks their shape (names, cycles, unknown steps); ``chain`` and ``group`` build common shapes;
``WorkflowRecord`` is a stored workflow as every launcher shows it, its state derived from its
steps' states. Enqueueing goes through ``rota.usecases.workflows`` (one transaction).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rota.errors import InvalidArguments
from rota.limits import MAX_NAME, quote
from rota.runs import RunState

JSON = Any
MAX_STEPS = 10_000
"""Steps in one workflow: one transaction inserts them all."""


class Upstream(dict[str, Any]):
    """Annotate a job parameter with this to receive, when the run is a workflow step, a dict
    from each step named in its ``after`` to that step's result (JSON). Not a launch argument."""


class WorkflowState(enum.StrEnum):
    """A workflow's state, derived from its steps' (a ``str`` enum like ``RunState``)."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Ended: succeeded, failed or cancelled (a retry makes it running again)."""
        return self is not WorkflowState.RUNNING


def state_of(states: Iterable[RunState]) -> WorkflowState:
    """A workflow's state from its steps': running while any is not terminal; then failed if
    one failed, cancelled if one was cancelled, else succeeded."""
    seen = set(states)
    if any(not s.terminal for s in seen):
        return WorkflowState.RUNNING
    if RunState.FAILED in seen:
        return WorkflowState.FAILED
    if RunState.CANCELLED in seen:
        return WorkflowState.CANCELLED
    return WorkflowState.SUCCEEDED


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step as added: its name, its job (a job object or a name), arguments, upstreams."""

    name: str
    job: Any
    args: dict[str, JSON]
    after: tuple[str, ...]


def job_name(job: Any) -> str:
    name = getattr(job, "name", job)
    if not isinstance(name, str):
        raise InvalidArguments(f"a step's job must be a job or a job name, got {quote(job)}")
    return name


class Workflow:
    """Steps to run as one unit: ``add`` each, then ``enqueue`` them in one transaction."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
            raise InvalidArguments(
                f"a workflow name must be 1 to {MAX_NAME} characters, got {quote(name)}"
            )
        self.name = name
        self.steps: list[StepSpec] = []

    def add(
        self,
        step: str,
        job: Any,
        args: Mapping[str, JSON] | None = None,
        *,
        after: Sequence[str] = (),
    ) -> str:
        """Add a step: a run of ``job`` with ``args`` once every step in ``after`` succeeded.
        Returns the step's name. Its shape is checked at ``enqueue`` (nothing is stored then
        if anything is wrong)."""
        if isinstance(after, str):
            after = (after,)
        self.steps.append(StepSpec(step, job, dict(args or {}), tuple(after)))
        return step

    def app(self) -> Any:
        """The app of the first step given as a job object (None if all are names)."""
        for s in self.steps:
            found = getattr(s.job, "app", None)
            if found is not None:
                return found
        return None

    def enqueue(self, app: Any = None, connection: Any = None) -> Any:
        """Insert every step in one transaction and return a ``rota.WorkflowHandle``:
        ``app`` defaults to the app of the job objects given to ``add``; ``connection``: the
        caller's open connection, whose transaction then holds the steps (never committed)."""
        target = app if app is not None else self.app()
        if target is None:
            raise InvalidArguments(
                f"workflow {self.name!r} names its jobs by string: pass app= to enqueue"
            )
        return target.workflows.enqueue(self, connection=connection)

    def ordered(self) -> list[StepSpec]:
        """The steps in an order where each comes after its upstreams; raises InvalidArguments
        naming the step for a bad name, a duplicate, an unknown step in ``after``, a cycle."""
        if not self.steps:
            raise InvalidArguments(f"workflow {self.name!r} has no steps")
        if len(self.steps) > MAX_STEPS:
            raise InvalidArguments(f"a workflow has at most {MAX_STEPS} steps")
        by_name: dict[str, StepSpec] = {}
        for s in self.steps:
            if not isinstance(s.name, str) or not 1 <= len(s.name) <= MAX_NAME:
                raise InvalidArguments(
                    f"a step name must be 1 to {MAX_NAME} characters, got {quote(s.name)}"
                )
            if s.name in by_name:
                raise InvalidArguments(f"step {s.name!r}: a step of that name was already added")
            job_name(s.job)
            by_name[s.name] = s
        for s in self.steps:
            for up in s.after:
                if up not in by_name:
                    raise InvalidArguments(f"step {s.name!r}: after names no step {quote(up)}")
                if up == s.name:
                    raise InvalidArguments(f"step {s.name!r}: a step cannot come after itself")
        return _topological(self.steps, by_name)


def _topological(steps: Sequence[StepSpec], by_name: Mapping[str, StepSpec]) -> list[StepSpec]:
    """Kahn's order, stable in the order of ``add``; a cycle names a step on it."""
    left = {s.name: len(set(s.after)) for s in steps}
    downstream: dict[str, list[str]] = {s.name: [] for s in steps}
    for s in steps:
        for up in set(s.after):
            downstream[up].append(s.name)
    ready = [s.name for s in steps if left[s.name] == 0]
    out: list[StepSpec] = []
    while ready:
        name = ready.pop(0)
        out.append(by_name[name])
        for down in downstream[name]:
            left[down] -= 1
            if left[down] == 0:
                ready.append(down)
    if len(out) < len(steps):
        stuck = next(s.name for s in steps if left[s.name] > 0)
        raise InvalidArguments(f"step {stuck!r} is on a cycle of steps that come after each other")
    return out


StepLike = Any
"""A job (object or name), or a (job, args) pair."""


def _split(item: StepLike) -> tuple[Any, dict[str, JSON]]:
    if isinstance(item, tuple):
        if len(item) != 2:
            raise InvalidArguments(f"a step is a job or a (job, args) pair, got {quote(item)}")
        return item[0], dict(item[1] or {})
    return item, {}


def _add_all(wf: Workflow, items: Sequence[StepLike], after: Sequence[str]) -> list[str]:
    names = []
    for item in items:
        job, args = _split(item)
        names.append(wf.add(_free_name(wf, job_name(job)), job, args, after=after))
    return names


def _free_name(wf: Workflow, base: str) -> str:
    taken = {s.name for s in wf.steps}
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def chain(*steps: StepLike, name: str = "chain") -> Workflow:
    """Steps one after the other, each receiving the one before's result through
    ``rota.Upstream``. Steps are named after their jobs (``job-2`` for a second one)."""
    wf = Workflow(name)
    previous: list[str] = []
    for item in steps:
        previous = _add_all(wf, [item], previous)
    return wf


def group(*steps: StepLike, then: StepLike | None = None, name: str = "group") -> Workflow:
    """Steps that run in parallel and, with ``then``, one step after all of them succeeded
    (it receives every result through ``rota.Upstream``)."""
    wf = Workflow(name)
    names = _add_all(wf, steps, ())
    if then is not None:
        _add_all(wf, [then], names)
    return wf


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    name: str
    job: str
    run_id: int
    state: RunState
    after: tuple[str, ...]
    result: JSON = None
    finished_at: datetime | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "job": self.job,
            "run_id": self.run_id,
            "state": self.state.value,
            "after": list(self.after),
        }


@dataclass(frozen=True, slots=True)
class WorkflowRecord:
    """A stored workflow and its steps (in the order they were inserted: upstreams first)."""

    id: int
    name: str
    created_at: datetime
    steps: tuple[WorkflowStep, ...] = field(default_factory=tuple)
    parent_run_id: int | None = None

    @property
    def state(self) -> WorkflowState:
        """Running while any step has not ended; then failed, cancelled or succeeded."""
        return state_of(s.state for s in self.steps)

    @property
    def finished_at(self) -> datetime | None:
        """When its last step ended, once the workflow has ended; else ``None``."""
        if not self.state.terminal:
            return None
        times = [s.finished_at for s in self.steps if s.finished_at is not None]
        return max(times) if times else None

    def step(self, name: str) -> WorkflowStep:
        """The step of that name (``KeyError`` if none)."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_json(self) -> dict[str, JSON]:
        """The workflow as the CLI's ``--json`` and the REST API show it."""
        finished = self.finished_at
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "finished_at": finished.isoformat() if finished else None,
            "steps": [s.to_json() for s in self.steps],
        }
