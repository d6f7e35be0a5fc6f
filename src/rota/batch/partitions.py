"""Partitioned chunk steps: a manager fans a step out as child runs, one per partition, that
any worker of the cluster executes with its own checkpoint; the step ends when all of them do.

The manager waits in its own run. When no worker takes a partition within a short grace (a
single worker that is busy, ``app.drain``, ``rota exec``), it has its own worker run it, lending
it the slot it waits in, so a partitioned step never waits for capacity that does not exist.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from rota.batch.chunks import AttemptLost, ChunkRunner, patiently
from rota.batch.context import StepContext
from rota.batch.definition import PARTITION_JOB, BatchDefinition
from rota.batch.flow import Chunk
from rota.batch.model import (
    FINISHED,
    RUN_TERMINAL,
    BatchExecution,
    BatchState,
    StepExecution,
)
from rota.batch.runtime import (
    LOST_LIMIT,
    BatchFailed,
    BatchRuntime,
    error_text,
    holder_of,
    lost_count,
    stop_run,
)
from rota.context import Context
from rota.errors import Discard, HandBack, StorageUnavailable
from rota.jobs import check_type
from rota.runs import RunState
from rota.storage.base import NewRun
from rota.storage.batch_store import (
    BatchTransition,
    NewPartition,
    PartitionsParams,
    StepFinish,
    StepStart,
)

log = logging.getLogger("rota.batch")

GRACE = 0.5
"""Seconds a partition may wait for another worker before the manager runs it itself."""
POLL = 0.1


class PartitionManager:
    def __init__(
        self,
        rt: BatchRuntime,
        execution: BatchExecution,
        step: Chunk,
        sctx: StepContext,
        ctx: Context,
        previous: list[StepExecution],
    ) -> None:
        self.rt, self.execution, self.step, self.sctx, self.ctx = rt, execution, step, sctx, ctx
        self.previous = previous
        self.store = rt.store()
        self._here: set[int] = set()  # partition runs this node's worker took

    def run(self) -> BatchState:
        parts = self.store.batch_partitions(self.execution.id, self.step.name)
        if not parts:
            plan = self._plan()
            params = PartitionsParams(self.execution.id, self.step.name, self.rt.clock.now(), plan)
            parts = self.store.batch_partitions_create(params)
        since = time.monotonic()
        reported = 0.0
        while True:
            pending = [p for p in parts if not _over(p)]
            if not pending:
                break
            if self.ctx.shutting_down:
                # Hand the run back; the worker hands back the partitions it runs too (it
                # tells them it is stopping): the others go on, and the manager resumed
                # elsewhere finds them all.
                raise HandBack("the node is shutting down: the run goes back to the queue")
            if self.ctx.cancelled:
                self._request_stop()
            if time.monotonic() - since > GRACE:
                self._run_here(pending)
            if time.monotonic() - reported > 1.0:
                reported = time.monotonic()
                self._report(parts)
            time.sleep(POLL)
            parts = patiently(
                lambda: self.store.batch_partitions(self.execution.id, self.step.name)
            )
        self._wait_here()
        self._report(parts)  # the last report was taken while some partitions still ran
        finals = [_final(p) for p in parts]
        if BatchState.FAILED in finals:
            bad = [p for p in parts if _final(p) is BatchState.FAILED]
            raise BatchFailed(
                f"{len(bad)} of {len(parts)} partitions failed; first: partition "
                f"{bad[0].partition}: {bad[0].error or 'its run ended ' + str(bad[0].run_state)}"
            )
        return BatchState.STOPPED if BatchState.STOPPED in finals else BatchState.COMPLETED

    # -- planning ------------------------------------------------------------------------
    def _plan(self) -> list[NewPartition]:
        parent = self.store.runs_get(self.ctx.run_id)
        queue = parent.queue if parent else "default"
        priority = parent.priority if parent else 0
        now = self.rt.clock.now()

        def child(index: int) -> NewRun:
            args = {"execution_id": self.execution.id, "step": self.step.name, "partition": index}
            return NewRun(
                PARTITION_JOB, args, queue, priority, 1, now, RunState.QUEUED, kind="batch"
            )

        latest = _latest_partitions(self.previous)
        if latest:  # a restart: the same partitions, completed ones kept, others resumed
            return [
                NewPartition(
                    p.partition,
                    p.partition_args or {},
                    None,
                    p.position,
                    p.context,
                    BatchState.COMPLETED,
                )
                if p.state is BatchState.COMPLETED
                else NewPartition(
                    p.partition, p.partition_args or {}, child(p.partition), p.position, p.context
                )
                for p in latest
            ]
        return [NewPartition(i, args, child(i)) for i, args in enumerate(self._specs())]

    def _specs(self) -> list[dict[str, Any]]:
        partitions = self.step.partitions
        if isinstance(partitions, int):
            return [{"partition": i, "partitions": partitions} for i in range(partitions)]
        assert partitions is not None
        specs = [dict(s) for s in partitions(self.sctx)]
        if not specs:
            raise ValueError(f"step {self.step.name!r}: the partitioner returned no partition")
        for s in specs:
            problem = check_type(s, dict[str, Any])
            if problem:
                raise TypeError(f"step {self.step.name!r}: a partition must be a JSON object")
        return specs

    # -- waiting -------------------------------------------------------------------------
    def _request_stop(self) -> None:
        self.store.batch_transition(
            BatchTransition(
                self.execution.id,
                (BatchState.STARTED,),
                BatchState.STOPPING,
                self.rt.clock.now(),
                holder=holder_of(self.ctx),
            )
        )

    def _report(self, parts: list[StepExecution]) -> None:
        """The partitions' progress summed, as the parent run's progress."""
        finished = sum(1 for p in parts if _over(p))
        read = sum(p.position for p in parts)
        message = f"step {self.step.name}: {finished}/{len(parts)} partitions done"
        self.ctx.progress(read, None, message)

    # -- running partitions here ----------------------------------------------------------
    def _run_here(self, pending: Iterable[StepExecution]) -> None:
        """Have this node's worker run the partitions still queued (none outside a worker)."""
        local = self.ctx.local_worker
        if local is None:
            return
        for p in pending:
            if p.run_state != RunState.QUEUED or p.run_id is None:
                continue
            try:
                if local.run_here(p.run_id):
                    self._here.add(p.run_id)
            except StorageUnavailable as exc:  # tried again at the next poll
                log.warning("batch: running partition run %s here failed: %s", p.run_id, exc)
                return

    def _wait_here(self) -> None:
        """Until the partitions' attempts here have ended too, so that their runs' outcomes
        are queued before the manager's; bounded, should one hang past its step's end."""
        local = self.ctx.local_worker
        deadline = time.monotonic() + self.rt.lease_seconds
        while local is not None and time.monotonic() < deadline:
            if not any(local.running_here(run_id) for run_id in self._here):
                return
            time.sleep(POLL / 10)


def _over(p: StepExecution) -> bool:
    """The partition ended, or its run did (or vanished: deleted by an operator)."""
    vanished = p.run_id is not None and p.run_state is None
    return p.state in FINISHED or p.run_state in RUN_TERMINAL or vanished


def _final(p: StepExecution) -> BatchState:
    if p.state in FINISHED:
        return p.state
    return BatchState.STOPPED if p.run_state == RunState.CANCELLED else BatchState.FAILED


def _latest_partitions(previous: list[StepExecution]) -> list[StepExecution]:
    """The partitions of the latest earlier execution that partitioned this step."""
    if not previous:
        return []
    last = max(p.execution_id for p in previous)
    return sorted((p for p in previous if p.execution_id == last), key=lambda p: p.partition)


# -- the partition job: one partition, in a child run ----------------------------------------


def run_partition(
    rt: BatchRuntime, ctx: Context, execution_id: int, step: str, partition: int
) -> dict[str, Any]:
    store = rt.store()
    execution = store.batch_get(execution_id)
    if execution is None:
        raise Discard(f"batch execution {execution_id} not found")
    spec = rt.jobs.get(execution.job)
    definition = spec.extra.get("batch") if spec else None
    if not isinstance(definition, BatchDefinition):
        raise Discard(f"batch job {execution.job!r} is not defined in this worker's app")
    chunk = definition.flow(execution.args)[step]
    if not isinstance(chunk, Chunk):
        raise Discard(f"step {step!r} of {execution.job!r} is not a chunk step")
    row = store.batch_step_start(StepStart(execution_id, step, rt.clock.now(), partition))
    if row.state in FINISHED:
        return {"state": row.state.value}
    if lost_count(store, ctx.run_id) >= LOST_LIMIT:
        _finish(rt, ctx, row, BatchState.FAILED, "its node died too many times")
        raise Discard(f"partition {partition}: its node died {LOST_LIMIT} times")
    if execution.state is not BatchState.STARTED:
        if execution.state is BatchState.STOPPING:
            _finish(rt, ctx, row, BatchState.STOPPED)
            raise stop_run(ctx, f"partition {partition} stopped")
        _finish(rt, ctx, row, BatchState.FAILED, f"the execution is {execution.state.value}")
        raise Discard(f"batch execution {execution_id} is {execution.state.value}")
    sctx = StepContext(
        execution_id=execution_id,
        step=step,
        job=execution.job,
        args=execution.args,
        state=row.context,
        partition=row.partition_args,
        run=ctx,
        restarted=row.position > 0 or row.commits > 0,
    )
    try:
        result = ChunkRunner(store, rt.clock, chunk, row, sctx, holder_of(ctx)).run()
    except (AttemptLost, HandBack):
        raise
    except Exception as exc:
        _finish(rt, ctx, row, BatchState.FAILED, error_text(exc))
        raise
    _finish(rt, ctx, row, result.state)
    if result.state is BatchState.STOPPED:
        raise stop_run(ctx, f"partition {partition} stopped")
    return {"state": result.state.value}


def _finish(
    rt: BatchRuntime,
    ctx: Context,
    row: StepExecution,
    state: BatchState,
    error: str | None = None,
) -> None:
    status = state.value.upper()
    params = StepFinish(row.id, state, rt.clock.now(), status, error, 0, holder_of(ctx))
    if not patiently(lambda: rt.store().batch_step_finish(params)):
        raise AttemptLost(f"run {ctx.run_id} is no longer held by this worker")
