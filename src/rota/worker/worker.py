"""The worker: claim due runs up to free capacity, execute them, record outcomes, hold leases.

One loop thread owns every database write of the worker. Finished attempts are queued by the
executing threads and recorded in the same transaction as the next claim, so a busy worker
spends one round trip per cycle. Outcome writes are kept through outages and flushed on stop:
a finished attempt is never forgotten.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rota.clock import Clock, SystemClock
from rota.context import Context
from rota.errors import HandBack, StorageUnavailable
from rota.jobs import JobSpec
from rota.outage import Outage
from rota.runs import Run, RunState
from rota.storage.base import (
    ClaimParams,
    HeartbeatParams,
    Notifier,
    Outcome,
    ProgressParams,
    ReleaseParams,
    Store,
)
from rota.worker import runlog
from rota.worker.attempt import Attempt, outcome, timeout_outcome
from rota.worker.executors import Executors
from rota.worker.foreign import ForeignJobs
from rota.worker.listener import listen
from rota.worker.pacing import Pacer
from rota.worker.recorder import Recorder
from rota.worker.stats import STATS
from rota.worker.storable import storable_text

log = logging.getLogger("rota.worker")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    node_id: str
    queues: tuple[str, ...] | None = None
    concurrency: int = 8
    lease_seconds: float = 30.0
    poll_interval: float = 1.0
    shutdown_timeout: float = 30.0
    max_prefetch: int = 256
    """At most this many runs claimed ahead of free slots (0: claim for free slots only)."""


class Worker:
    def __init__(
        self,
        store: Store,
        jobs: Mapping[str, JobSpec],
        config: WorkerConfig,
        clock: Clock | None = None,
    ) -> None:
        self.store, self.jobs, self.config = store, jobs, config
        self.clock = clock or SystemClock()
        self._ended: queue.SimpleQueue[tuple[Attempt, Outcome | None]] = queue.SimpleQueue()
        self._recorder = Recorder(store)  # decided, not yet written; kept across outages
        self._foreign = ForeignJobs(store, config.queues)
        self._handed_back: list[tuple[int, int]] = []  # (run, attempt) to release, unfinished
        self._inflight: dict[tuple[int, int], Attempt] = {}
        self._buffer: deque[Run] = deque()  # claimed ahead, not started yet
        self._mu = threading.Lock()  # guards _inflight and _buffer (job threads take runs too)
        self._pacer = Pacer(config.concurrency, config.max_prefetch)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._executors: Executors | None = None
        self._outage = Outage("worker", log)
        self._next_heartbeat = 0.0
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._threads:
                return
            self._stopping.clear()
            self._threads = [
                threading.Thread(target=self._run, name="rota-worker", daemon=True),
                threading.Thread(
                    target=listen,
                    args=(self._open_notifier, self._stopping, self._wake),
                    name="rota-notifier",
                    daemon=True,
                ),
            ]
            for t in self._threads:
                t.start()

    def _open_notifier(self) -> Notifier:
        return self.store.notifier(self.config.queues)

    def stop(self) -> None:
        """Claim nothing more, let running runs finish, hand back the rest; idempotent."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            threads, self._threads = self._threads, []
        for t in threads:
            t.join(self.config.shutdown_timeout + 30)

    def wake(self) -> None:
        self._wake.set()

    @property
    def busy(self) -> int:
        return len(self._inflight)

    # -- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        poll_at = 0.0
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    full = self._cycle(claim=True)
                    self._heartbeat_if_due()
                    self._outage.ok()
                except Exception as exc:
                    self._wake.wait(self._failed(exc))
                    continue
                if full:
                    continue
                now = time.monotonic()
                if now >= poll_at:
                    poll_at = now + self.config.poll_interval
                self._wake.wait(max(0.0, self._next_deadline(poll_at) - now))
        finally:
            self._shutdown()

    def _failed(self, exc: Exception) -> float:
        """How long to wait after a failed cycle; only the database's failures are outages."""
        if is_outage(exc):
            return self._outage.failed(exc)
        log.exception("worker cycle failed (a bug, not a database outage); trying again in 5s")
        return 5.0

    def _snapshot(self) -> list[Attempt]:
        with self._mu:
            return list(self._inflight.values())

    def _next_deadline(self, poll_at: float) -> float:
        until = min(poll_at, self._next_heartbeat)
        for a in self._snapshot():
            if a.deadline is not None and not a.settled:
                until = min(until, a.deadline)
        return until

    def _collect(self, block_until: float | None = None) -> None:
        """Take ended attempts off the queue: free their slots, keep their outcomes to write."""
        while True:
            try:
                if block_until is None:
                    attempt, o = self._ended.get_nowait()
                else:
                    attempt, o = self._ended.get(timeout=max(0.0, block_until - time.monotonic()))
                    block_until = None
            except queue.Empty:
                break
            self._pacer.ran(attempt.duration)
            if o is not None:
                self._recorder.add(o)
                STATS.ended(attempt.run, o.state, attempt.duration)
                runlog.ended(attempt, o, attempt.duration)
        self._settle_timeouts()
        self._start_buffered()

    def _claim_limit(self) -> int:
        with self._mu:
            held = len(self._inflight) + len(self._buffer)
        return self._pacer.claim_limit(held)

    def _start_buffered(self) -> None:
        started = []
        with self._mu:
            while len(self._inflight) < self.config.concurrency and (a := self._next_attempt()):
                started.append(a)
        for attempt in started:
            self._submit(attempt)

    def _submit(self, attempt: Attempt) -> None:
        runlog.started(attempt)
        self._executors_ready().submit(attempt)

    def _cycle(self, claim: bool, only: int | None = None) -> bool:
        """Write decided outcomes and claim up to free capacity; True if the claim was full."""
        self._collect()
        self._release_handed_back()
        free = (1 if only is not None else self._claim_limit()) if claim else 0
        if free <= 0 and not self._recorder.pending:
            return False
        now = self.clock.now()
        began = time.monotonic()
        jobs = tuple(self.jobs)  # read each time: the app may define jobs after the start
        result = self._recorder.claim(
            ClaimParams(
                node_id=self.config.node_id,
                queues=self.config.queues,
                limit=max(0, free),
                now=now,
                lease_until=now + timedelta(seconds=self.config.lease_seconds),
                run_id=only,
                jobs=jobs,
            )
        )
        self._pacer.round_trip(time.monotonic() - began)
        with self._mu:
            self._buffer.extend(result.claimed)
        STATS.claimed(result.claimed)
        self._start_buffered()
        if only is None and len(result.claimed) < free:  # nothing more of ours is due
            self._foreign.look(jobs, now)
        return free > 0 and len(result.claimed) == free

    def _next_attempt(self) -> Attempt | None:
        """The next run claimed ahead as an attempt in flight (call with ``_mu`` held).

        A run of a job this worker lacks (claimed by id, say) is handed back, unattempted.
        """
        while self._buffer:
            run = self._buffer.popleft()
            spec = self.jobs.get(run.job)
            if spec is not None:
                return self._attempt(run, spec)
            ForeignJobs.handing_back(run)
            self._handed_back.append((run.id, run.attempt))
        return None

    def _attempt(self, run: Run, spec: JobSpec) -> Attempt:
        """A new attempt for ``run``, counted in flight (call with ``_mu`` held)."""
        now = time.monotonic()
        ctx = Context(
            run.id,
            run.attempt,
            run.job,
            progress_sink=self._progress_sink(run),
            node_id=self.config.node_id,
        )
        attempt = Attempt(
            run=run,
            spec=spec,
            ctx=ctx,
            started=now,
            # async jobs time out inside their task; sync ones are watched by the loop
            deadline=now + run.timeout if run.timeout and not spec.is_async else None,
        )
        self._inflight[attempt.key] = attempt
        return attempt

    def _executors_ready(self) -> Executors:
        if self._executors is None:
            self._executors = Executors(self.config.concurrency, self._on_done)
        return self._executors

    def _progress_sink(self, run: Run) -> Callable[[dict[str, Any]], None]:
        def sink(progress: dict[str, Any]) -> None:
            if isinstance(progress.get("message"), str):
                progress = {**progress, "message": storable_text(progress["message"])[0]}
            try:
                self.store.runs_progress(ProgressParams(run.id, run.attempt, progress))
            except Exception as exc:  # progress is a hint: never the job's failure
                log.debug("progress of run %s not recorded: %s", run.id, exc)

        return sink

    def _on_done(self, attempt: Attempt, result: Any, exc: BaseException | None) -> None:
        # On the executing thread: decide the outcome and hand it to the loop.
        # Its slot goes straight to the next run claimed ahead, without waiting for the loop.
        attempt.duration = time.monotonic() - attempt.started
        o = None
        handed_back = isinstance(exc, HandBack) and not attempt.settled
        if handed_back:
            attempt.settled = True  # no outcome: the run is released instead
            runlog.handed_back(attempt, attempt.duration)
        elif not attempt.settled:  # outcome() never raises, whatever the job left behind
            o = outcome(attempt, self.config.node_id, self.clock.now(), result=result, exc=exc)
        following = None
        with self._mu:
            if handed_back:
                self._handed_back.append(attempt.key)
            self._ended.put((attempt, o))  # before its slot frees: run_once must see it ended
            self._inflight.pop(attempt.key, None)
            if not self._stopping.is_set():
                following = self._next_attempt()
        if following is not None:
            self._submit(following)
        self._wake.set()

    def _settle_timeouts(self) -> None:
        now = time.monotonic()
        for a in self._snapshot():
            if a.deadline is not None and not a.settled and now >= a.deadline:
                # A thread cannot be killed: fail the attempt now, ask the job to stop through
                # ctx.cancelled, and keep its slot busy until the thread really returns.
                a.settled = True
                a.ctx.request_cancel()
                o = timeout_outcome(a, self.config.node_id, self.clock.now())
                self._recorder.add(o)
                STATS.ended(a.run, o.state, now - a.started)
                runlog.ended(a, o, now - a.started)

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + max(0.1, self.config.lease_seconds / 4)
        with self._mu:
            ids = [a.run.id for a in self._inflight.values() if not a.settled]
            ids += [r.id for r in self._buffer]
        if not ids:
            return
        wall = self.clock.now()
        lease_until = wall + timedelta(seconds=self.config.lease_seconds)
        cancel = self.store.runs_heartbeat(
            HeartbeatParams(self.config.node_id, wall, lease_until, ids)
        )
        wanted = set(cancel)
        with self._mu:
            dropped = [r for r in self._buffer if r.id in wanted]
            for run in dropped:
                self._buffer.remove(run)
        for run in dropped:
            self._recorder.add(
                Outcome(run.id, run.attempt, self.config.node_id, RunState.CANCELLED, wall)
            )
        for a in self._snapshot():
            if a.run.id in wanted and not a.ctx.cancelled:
                a.ctx.request_cancel()
                a.cancel()

    # -- stopping -------------------------------------------------------------------------
    def _release_handed_back(self) -> None:
        with self._mu:
            runs, self._handed_back = self._handed_back, []
        if runs:
            try:
                self.store.runs_release(ReleaseParams(self.config.node_id, runs))
            except StorageUnavailable:
                with self._mu:
                    self._handed_back[:0] = runs
                raise

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.config.shutdown_timeout
        for a in self._snapshot():
            a.ctx.begin_shutdown()
        with self._mu:
            held = [(r.id, r.attempt) for r in self._buffer]
            self._buffer.clear()
        if held:  # claimed ahead but never started: hand back at once
            ahead = ReleaseParams(self.config.node_id, held)
            self._write_until(lambda: self.store.runs_release(ahead), deadline)
        while self._inflight and time.monotonic() < deadline:
            self._collect(block_until=min(deadline, time.monotonic() + 0.5))
            self._write_until(lambda: self._cycle(claim=False), deadline)
            self._write_until(self._heartbeat_if_due, deadline)
        self._collect()
        self._write_until(lambda: self._cycle(claim=False), deadline + 10)
        left = self._snapshot()
        unfinished = [(a.run.id, a.run.attempt) for a in left if not a.settled]

        for a in left:
            a.ctx.request_cancel(shutdown=True)
            a.cancel()
        self._write_until(self._release_handed_back, deadline + 10)
        if unfinished:
            log.warning("shutdown: handing %d unfinished run(s) back to the queue", len(unfinished))
            release = ReleaseParams(self.config.node_id, unfinished)
            self._write_until(lambda: self.store.runs_release(release), deadline + 10)
        with self._mu:
            self._inflight.clear()
        self.close()

    def _write_until(self, write: Callable[[], object], deadline: float) -> None:
        while True:
            try:
                write()
                self._outage.ok()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    log.error("shutdown: giving up a write the database refused: %s", exc)
                    return
                time.sleep(self._outage.failed(exc))

    def close(self) -> None:
        if self._executors is not None:
            self._executors.shutdown()
            self._executors = None

    # -- one cycle, for tests and drain ---------------------------------------------------
    def run_once(self, wait: float = 3600.0, only: int | None = None) -> list[Outcome]:
        """Claim what is due (up to concurrency, or only run ``only``), run it, record it."""
        self._cycle(claim=True, only=only)
        deadline = time.monotonic() + wait
        while (self._inflight or self._buffer) and time.monotonic() < deadline:
            # Heartbeats keep long runs' leases (and relay cancels); they also move the next
            # deadline forward, without which this loop would spin and starve the job threads.
            try:
                self._heartbeat_if_due()
            except StorageUnavailable as exc:
                log.warning("heartbeat failed, will retry: %s", exc)
            self._collect(block_until=min(deadline, self._next_deadline(deadline)))
        self._collect()  # the last attempts may have ended after the loop's last look
        decided = list(self._recorder.pending)
        self._cycle(claim=False)
        return decided


_NOT_OUTAGES = frozenset({"DataError", "IntegrityError", "ProgrammingError", "NotSupportedError"})


def is_outage(exc: BaseException) -> bool:
    """Whether a failed cycle is the database's doing (retried quietly) rather than a bug."""
    if isinstance(exc, StorageUnavailable):
        return True
    if type(exc).__module__.partition(".")[0] not in ("sqlite3", "psycopg", "psycopg_pool"):
        return False
    return not any(c.__name__ in _NOT_OUTAGES for c in type(exc).__mro__)
