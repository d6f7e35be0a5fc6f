"""Executing a batch run: begin (or resume, or restart) its execution and walk the flow.

Steps completed by an earlier execution of the instance are skipped; a failed or stopped step
resumes from its last committed chunk; a run whose node died resumes its own execution.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rota.batch.chunks import (
    AttemptLost,
    ChunkRunner,
    ExecutionEnded,
    check_shutdown,
    patiently,
)
from rota.batch.context import StepContext
from rota.batch.definition import BatchDefinition
from rota.batch.flow import END, FAIL, Chunk, Flow, Step, Tasklet
from rota.batch.model import (
    COMPLETED,
    DONE,
    FAILED,
    FINISHED,
    STOPPED,
    BatchExecution,
    BatchState,
    StepExecution,
)
from rota.batch.partitions import PartitionManager
from rota.batch.runtime import (
    LOST_LIMIT,
    BatchFailed,
    BatchRuntime,
    error_text,
    holder_of,
    run_errors,
    stop_run,
    trailing_lost,
)
from rota.context import Context
from rota.errors import BatchConflict, Discard, HandBack
from rota.storage.batch_store import BatchTransition, ChunkCommit, Holder, StepFinish, StepStart

log = logging.getLogger("rota.batch")


def run_batch(rt: BatchRuntime, definition: BatchDefinition, ctx: Context) -> dict[str, Any]:
    """The body of a batch job's run."""
    store = rt.store()
    try:
        execution = _begin(rt, definition, ctx)
    except _Completed as done:
        return _summary(done.execution, BatchState.COMPLETED)
    try:
        flow = definition.flow(execution.args)
    except Exception as exc:
        _end(rt, execution, BatchState.FAILED, error_text(exc), holder_of(ctx))
        raise BatchFailed(f"execution {execution.id}: building the flow failed: {exc}") from exc
    walker = FlowWalker(rt, definition, flow, execution, ctx)
    state = walker.walk()
    summary = _summary(store.batch_get(execution.id) or execution, state)
    if state is BatchState.FAILED:
        raise BatchFailed(
            f"batch execution {execution.id} failed: {walker.error or 'a step failed'}"
        )
    if state is BatchState.STOPPED:
        raise stop_run(ctx, f"batch execution {execution.id} stopped")
    return summary


def _summary(execution: BatchExecution, state: BatchState) -> dict[str, Any]:
    keys = ("read", "written", "skipped", "filtered", "commits")
    totals = {k: sum(getattr(s, k) for s in execution.steps) for k in keys}
    return {"execution_id": execution.id, "state": state.value, **totals}


def _begin(rt: BatchRuntime, definition: BatchDefinition, ctx: Context) -> BatchExecution:
    store, now = rt.store(), rt.clock.now()
    execution = store.batch_for_run(ctx.run_id)
    if execution is None:
        raise Discard(f"run {ctx.run_id} carries no batch execution")
    errors = run_errors(store, ctx.run_id)  # read once: the lost count and the outcome check
    lost = trailing_lost(errors)
    if execution.state in FINISHED and _outcome_unrecorded(errors, execution, ctx):
        # The attempt that ended the execution never recorded its run's outcome (its node
        # died, or handed the run back, just after): give the run that outcome now. This is
        # not a retry asking for a restart.
        _repeat_outcome(execution, ctx)
    if execution.state in (BatchState.FAILED, BatchState.STOPPED):
        # This run was retried: a retry of a batch run is a restart of its instance.
        try:
            new_id = store.batch_relaunch(ctx.run_id, definition.launch(execution.args), now)
        except BatchConflict as exc:
            raise Discard(str(exc)) from None
        execution = store.batch_get(new_id) or execution
    elif execution.state in DONE:
        raise Discard(f"batch execution {execution.id} is {execution.state.value}")
    elif execution.state in (BatchState.STARTED, BatchState.STOPPING):
        if lost >= LOST_LIMIT:
            message = f"its node died {lost} times while running it"
            _end(rt, execution, BatchState.FAILED, message, holder_of(ctx))
            raise Discard(f"batch execution {execution.id} failed: {message}")
        log.info("batch execution %s resumes after its node died", execution.id)
    if execution.state is BatchState.STOPPING:
        _end(rt, execution, BatchState.STOPPED, None, holder_of(ctx))
        raise stop_run(ctx, f"batch execution {execution.id} stopped")
    began = store.batch_transition(
        BatchTransition(
            execution.id,
            (BatchState.STARTING, BatchState.STARTED),
            BatchState.STARTED,
            now,
            started=True,
            holder=holder_of(ctx),
        )
    )
    current = store.batch_get(execution.id) or execution
    if not began:
        if current.state is BatchState.STOPPING:
            _end(rt, current, BatchState.STOPPED, None, holder_of(ctx))
            raise stop_run(ctx, f"batch execution {execution.id} stopped")
        raise Discard(f"batch execution {execution.id} is {current.state.value}")
    return current


def _outcome_unrecorded(
    errors: list[dict[str, Any]], execution: BatchExecution, ctx: Context
) -> bool:
    ended = execution.ended_attempt
    if ended is None:
        return False
    if ended == ctx.attempt:  # handed back and claimed again: the same attempt number
        return True
    last = errors[-1] if errors else None
    return last is not None and last.get("type") == "WorkerLost" and last.get("attempt") == ended


def _repeat_outcome(execution: BatchExecution, ctx: Context) -> None:
    if execution.state is BatchState.COMPLETED:
        raise _Completed(execution)
    if execution.state is BatchState.STOPPED:
        raise stop_run(ctx, f"batch execution {execution.id} stopped")
    raise BatchFailed(f"batch execution {execution.id} {execution.state.value}")


class _Completed(Exception):
    def __init__(self, execution: BatchExecution) -> None:
        super().__init__(execution.id)
        self.execution = execution


def _end(
    rt: BatchRuntime,
    execution: BatchExecution,
    state: BatchState,
    error: str | None,
    holder: Holder,
) -> None:
    """End the execution, while this attempt still holds its run."""
    params = BatchTransition(
        execution.id,
        (BatchState.STARTING, BatchState.STARTED, BatchState.STOPPING),
        state,
        rt.clock.now(),
        finished=True,
        exit_status=state.value.upper(),
        error=error,
        holder=holder,
    )
    if not patiently(lambda: rt.store().batch_transition(params)):
        current = rt.store().batch_get(execution.id)
        if current is None or current.state is not state:
            raise AttemptLost(f"batch execution {execution.id} was not ended here: run lost")


class FlowWalker:
    """Walks one execution's flow, step by step, following exit statuses."""

    def __init__(
        self,
        rt: BatchRuntime,
        definition: BatchDefinition,
        flow: Flow,
        execution: BatchExecution,
        ctx: Context,
    ) -> None:
        self.rt, self.definition, self.flow, self.execution, self.ctx = (
            rt,
            definition,
            flow,
            execution,
            ctx,
        )
        self.store = rt.store()
        self.error: str | None = None
        history = self.store.batch_history(execution.instance_id)
        self.previous: dict[tuple[str, int], StepExecution] = {}
        self.earlier: list[BatchExecution] = [e for e in history if e.id < execution.id]
        for e in self.earlier:
            for s in e.steps:
                self.previous[(s.name, s.partition)] = s
        self.own = {(s.name, s.partition): s for s in execution.steps}

    def walk(self) -> BatchState:
        name = self.flow.first
        holder = holder_of(self.ctx)
        while name not in (END, FAIL):
            status = STOPPED if self._stop_requested() else self._step(self.flow[name])
            if status == STOPPED:
                _end(self.rt, self.execution, BatchState.STOPPED, None, holder)
                return BatchState.STOPPED
            name = self.flow.after(name, status)
        state = BatchState.COMPLETED if name == END else BatchState.FAILED
        error = self.error if state is BatchState.FAILED else None
        _end(self.rt, self.execution, state, error, holder)
        return state

    def _stop_requested(self) -> bool:
        """Between steps: a stop request (or the node shutting down) takes effect here."""
        check_shutdown(self.ctx)
        current = patiently(lambda: self.store.batch_get(self.execution.id))
        if current is None or current.state not in (BatchState.STARTED, BatchState.STOPPING):
            state = current.state.value if current else "deleted"
            raise ExecutionEnded(f"batch execution {self.execution.id} is {state}")
        cancelled = self.ctx.cancelled  # a cancel of the run (not a shutdown) stops it
        return current.state is BatchState.STOPPING or cancelled

    def _step(self, step: Step) -> str:
        mine = self.own.get((step.name, -1))
        prior = self.previous.get((step.name, -1))
        if mine is not None and mine.state in FINISHED:
            return mine.exit_status or COMPLETED  # ran before this run's node died
        if mine is None and prior is not None and prior.state is BatchState.COMPLETED:
            return prior.exit_status or COMPLETED  # done by an earlier execution: skipped
        resume = prior if prior is not None and prior.state is not BatchState.COMPLETED else None
        row = self.store.batch_step_start(
            StepStart(
                self.execution.id,
                step.name,
                self.rt.clock.now(),
                position=resume.position if resume else 0,
                context=resume.context if resume else {},
            )
        )
        sctx = StepContext(
            execution_id=self.execution.id,
            step=step.name,
            job=self.execution.job,
            args=self.execution.args,
            state=row.context,
            run=self.ctx,
            restarted=resume is not None or row.commits > 0,
        )
        try:
            state, status = self._execute(step, row, sctx)
        except (AttemptLost, ExecutionEnded, HandBack):
            raise
        except Exception as exc:
            self.error = f"step {step.name!r}: {error_text(exc)}"
            log.warning("batch execution %s: %s", self.execution.id, self.error, exc_info=exc)
            self._finish(row, BatchState.FAILED, FAILED, error_text(exc), rollbacks=1)
            return FAILED
        self._finish(row, state, status)
        return status

    def _execute(self, step: Step, row: StepExecution, sctx: StepContext) -> tuple[BatchState, str]:
        if isinstance(step, Tasklet):
            status = step.func(sctx) or COMPLETED
            if not isinstance(status, str):
                raise TypeError(f"a tasklet returns an exit status (str) or None, got {status!r}")
            self._commit_tasklet(row, sctx)
            return BatchState.COMPLETED, status
        if isinstance(step, Chunk) and step.partitions is not None:
            previous = [
                s for (name, part), s in self.previous.items() if name == step.name and part >= 0
            ]
            state = PartitionManager(self.rt, self.execution, step, sctx, self.ctx, previous).run()
            return state, _status(state)
        if isinstance(step, Chunk):
            runner = ChunkRunner(
                self.store,
                self.rt.clock,
                step,
                row,
                sctx,
                holder_of(self.ctx),
                self._progress(step),
            )
            result = runner.run()
            return result.state, _status(result.state)
        raise TypeError(f"unknown kind of step: {step!r}")

    def _progress(self, step: Step) -> Callable[[int, int, int | None], dict[str, Any]]:
        index, count = self.flow.position(step.name) + 1, len(self.flow.steps)

        def progress(position: int, written: int, total: int | None) -> dict[str, Any]:
            # `done` already says how many items went through: say "written" only if it differs
            message = f"step {step.name} ({index}/{count})"
            if written != position:
                message += f": {written} written"
            return {"done": position, "total": total, "message": message}

        return progress

    def _commit_tasklet(self, row: StepExecution, sctx: StepContext) -> None:
        params = ChunkCommit(
            row.id,
            self.ctx.run_id,
            self.ctx.attempt,
            self.rt.clock.now(),
            0,
            0,
            0,
            0,
            row.position,
            sctx.state,
            node_id=self.ctx.node_id,
            expected_commits=row.commits,
        )
        done = patiently(lambda: self.store.batch_chunk_commit(params))
        if done is None:
            raise AttemptLost(f"run {self.ctx.run_id} is no longer held by this worker")

    def _finish(
        self,
        row: StepExecution,
        state: BatchState,
        status: str,
        error: str | None = None,
        rollbacks: int = 0,
    ) -> None:
        params = StepFinish(
            row.id, state, self.rt.clock.now(), status, error, rollbacks, holder_of(self.ctx)
        )
        if not patiently(lambda: self.store.batch_step_finish(params)):
            raise AttemptLost(f"run {self.ctx.run_id} is no longer held by this worker")


def _status(state: BatchState) -> str:
    return {BatchState.COMPLETED: COMPLETED, BatchState.STOPPED: STOPPED}.get(state, FAILED)
