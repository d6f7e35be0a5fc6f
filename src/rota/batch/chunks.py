"""One chunk-oriented step: read, process and write items in chunks, committing a checkpoint
after each chunk; skip and retry policies decide what an item's error does."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from rota.batch.context import StepContext
from rota.batch.flow import Chunk
from rota.batch.model import BatchState, StepExecution
from rota.clock import Clock
from rota.context import Context
from rota.errors import HandBack
from rota.outage import Outage, ride_out, unavailable
from rota.storage.batch_store import BatchStore, ChunkCommit, Holder

log = logging.getLogger("rota.batch")
T = TypeVar("T")


class SkipLimitExceeded(Exception):
    """More items failed with a skippable error than the step's ``skip_limit`` allows."""


class AttemptLost(Exception):
    """This attempt no longer holds its run (rescued elsewhere): it must write nothing more."""


class ExecutionEnded(Exception):
    """The execution was ended from outside (abandoned, or failed by maintenance)."""


PATIENCE = 60.0
"""Seconds a batch write waits through a database outage before it gives up."""


def patiently(call: Callable[[], T]) -> T:
    """``call()``, retried with backoff while the database is unavailable (a short outage
    must not fail a long step), for up to ``PATIENCE`` seconds."""
    outage = Outage("batch", log)
    return ride_out(call, outage, until=time.monotonic() + PATIENCE, retry=unavailable)


def check_shutdown(run: Context | None) -> None:
    """At a chunk boundary: a node shutting down hands the run back, unfinished, for another
    node to resume from this commit; the execution carries on (not a stop)."""
    if run is not None and run.shutting_down:
        raise HandBack("the node is shutting down: the run goes back to the queue")


_FILTERED = object()


@dataclass
class ChunkResult:
    state: BatchState  # completed, stopped
    rollbacks: int = 0


@dataclass
class _Tally:
    read: int = 0
    written: int = 0
    skipped: int = 0
    filtered: int = 0


class ChunkRunner:
    """Runs one chunk step (or one partition of one) from its checkpoint to its end."""

    def __init__(
        self,
        store: BatchStore,
        clock: Clock,
        step: Chunk,
        row: StepExecution,
        ctx: StepContext,
        holder: Holder,
        progress: Callable[[int, int, int | None], dict[str, Any]] | None = None,
    ) -> None:
        self.store, self.clock, self.step, self.row, self.ctx = store, clock, step, row, ctx
        self.holder = holder
        self.progress = progress
        self.skips = row.skipped  # skips so far in this step execution, against the limit
        self.written = row.written
        self.commits = row.commits
        self.total: int | None = None

    def run(self) -> ChunkResult:
        streams = _streams(self.step)
        for s in streams:
            s.open(self.ctx)
        try:
            return self._loop()
        finally:
            for s in streams:
                close = getattr(s, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        close()

    def _loop(self) -> ChunkResult:
        position = self.row.position
        source = self.step.reader(self.ctx)
        self.total = len(source) if isinstance(source, Sized) else _total_hint(self.step, self.ctx)
        items = iter(source)
        if position and not self.step.reader_resumes:
            _skip(items, position)
        while True:
            taken = list(islice(items, self.step.size))
            if not taken:
                return ChunkResult(BatchState.COMPLETED)
            tally = _Tally(read=len(taken))
            out = self._process(taken, tally)
            write = self._write(out, tally)
            for s in _streams(self.step):
                update = getattr(s, "update", None)
                if update is not None:
                    update(self.ctx)
            position += len(taken)
            state = self._commit(tally, position, write)
            check_shutdown(self.ctx.run)
            if state is BatchState.STOPPING or self.ctx.stopping:
                return ChunkResult(BatchState.STOPPED)
            if state is not BatchState.STARTED:
                raise ExecutionEnded(f"the execution was {state.value} meanwhile")

    # -- items ---------------------------------------------------------------------------
    def _process(self, taken: list[Any], tally: _Tally) -> list[Any]:
        processor = self.step.processor
        if processor is None:
            return taken
        out = []
        for item in taken:
            result = self._guarded(partial(processor, item), tally)
            if result is _FILTERED:
                continue
            if result is None:
                tally.filtered += 1
                continue
            out.append(result)
        return out

    def _guarded(self, call: Callable[[], Any], tally: _Tally) -> Any:
        """``call`` under the retry policy, then the skip policy; ``_FILTERED`` if skipped."""
        tries = 0
        while True:
            try:
                return call()
            except Exception as exc:
                if isinstance(exc, self.step.retry_on) and tries < self.step.retry_limit:
                    tries += 1
                    continue
                if isinstance(exc, self.step.skip_on):
                    self._skip_one(exc)
                    tally.skipped += 1
                    return _FILTERED
                raise

    def _skip_one(self, exc: Exception) -> None:
        self.skips += 1
        if self.skips > self.step.skip_limit:
            raise SkipLimitExceeded(
                f"step {self.step.name!r}: skip limit {self.step.skip_limit} exceeded "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    def _write(self, out: list[Any], tally: _Tally) -> Callable[[Any], None] | None:
        """Write the chunk now, or return the write to run inside the commit transaction."""
        writer: Any = self.step.writer
        if hasattr(writer, "write_in"):
            tally.written = len(out)
            return (lambda conn: writer.write_in(conn, out)) if out else None
        if not out:
            return None
        try:
            self._guarded_write(lambda: writer(out))
            tally.written = len(out)
        except Exception as exc:
            if not isinstance(exc, self.step.skip_on):
                raise
            # Find the bad items: write one at a time, skipping those that fail (a scan).
            for item in out:
                if self._guarded(partial(writer, [item]), tally) is not _FILTERED:
                    tally.written += 1
        return None

    def _guarded_write(self, call: Callable[[], Any]) -> None:
        tries = 0
        while True:
            try:
                call()
                return
            except self.step.retry_on:
                if tries >= self.step.retry_limit:
                    raise
                tries += 1

    def _commit(
        self, tally: _Tally, position: int, write: Callable[[Any], None] | None
    ) -> BatchState:
        self.written += tally.written
        params = ChunkCommit(
            step_id=self.row.id,
            run_id=self.holder.run_id,
            attempt=self.holder.attempt,
            node_id=self.holder.node_id,
            expected_commits=self.commits,
            now=self.clock.now(),
            read=tally.read,
            written=tally.written,
            skipped=tally.skipped,
            filtered=tally.filtered,
            position=position,
            context=self.ctx.state,
            progress=self.progress(position, self.written, self.total) if self.progress else None,
        )
        tries = 0
        while True:
            try:
                state = patiently(lambda: self.store.batch_chunk_commit(params, write))
                break
            except self.step.retry_on:
                if write is None or tries >= self.step.retry_limit:
                    raise
                tries += 1
        if state is not None:
            self.commits += 1
        if state is None:
            raise AttemptLost(
                f"run {self.holder.run_id} attempt {self.holder.attempt} is no longer held by "
                "this worker, or its execution ended: the chunk was not committed"
            )
        return state


def _streams(step: Chunk) -> list[Any]:
    seen: list[Any] = []
    for obj in (step.reader, step.processor, step.writer):
        if obj is not None and hasattr(obj, "open") and not any(obj is s for s in seen):
            seen.append(obj)
    return seen


def _skip(items: Iterator[Any], count: int) -> None:
    """Skip what committed chunks consumed already (a reader that does not resume itself)."""
    for _ in islice(items, count):
        pass


def _total_hint(step: Chunk, ctx: StepContext) -> int | None:
    """How many items the reader will give in all, when it can tell (for progress bars)."""
    hint = getattr(step.reader, "total", None)
    if not callable(hint):
        return None
    value = hint(ctx)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
