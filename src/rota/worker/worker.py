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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from rota.clock import Clock, SystemClock
from rota.context import Context
from rota.errors import HandBack, StorageUnavailable
from rota.jobs import JobSpec
from rota.runs import Event, Run
from rota.service import Loop
from rota.storage.base import (
    ClaimParams,
    HeartbeatParams,
    LimitedJob,
    Outcome,
    ReleaseParams,
    Started,
    Store,
)
from rota.worker import runlog
from rota.worker.attempt import Attempt, loop_deadline, outcome
from rota.worker.executors import Executors
from rota.worker.foreign import ForeignJobs
from rota.worker.holdings import Holdings
from rota.worker.listener import Listener
from rota.worker.local_runs import LocalRuns
from rota.worker.pacing import Pacer
from rota.worker.paused import PausedLookout
from rota.worker.process_pool import ProcessLimits
from rota.worker.progress import progress_sink
from rota.worker.recorder import Recorder, write_until
from rota.worker.stats import STATS
from rota.worker.timeouts import settle_timeouts

log = logging.getLogger("rota.worker")


def limited_jobs(jobs: Mapping[str, JobSpec]) -> dict[str, LimitedJob]:
    """The jobs with flow-control limits, as the claim applies them."""
    out = {}
    for name, spec in jobs.items():
        lim = spec.options.limits
        if lim.any:
            out[name] = LimitedJob(
                name,
                lim.concurrency,
                lim.rate_limit,
                lim.rate_period,
                concurrency_keyed=lim.concurrency_key is not None,
                rate_keyed=lim.rate_key is not None,
            )
    return out


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
    processes: ProcessLimits = field(default_factory=ProcessLimits)
    """When the child process of ``executor="process"`` jobs is replaced."""


def claim_params(
    config: WorkerConfig,
    now: datetime,
    free: int,
    only: int | None,
    jobs: tuple[str, ...],
    limited: Mapping[str, LimitedJob],
    ahead: int,
    placed: list[str],
) -> ClaimParams:
    """A cycle's claim of ``free`` runs (slots and ``ahead``), or of run ``only``."""
    return ClaimParams(
        node_id=config.node_id,
        queues=config.queues,
        limit=max(0, free),
        now=now,
        lease_until=now + timedelta(seconds=config.lease_seconds),
        run_id=only,
        jobs=tuple(j for j in jobs if j not in limited) if limited else jobs,
        limited=tuple(limited.values()),
        # Claimed ahead, a limited job's run holds its place while it waits here: the pacer
        # claims ahead only for runs shorter than a round trip, about that long.
        limited_slots=max(0, free),
        ahead=ahead,
        placed_queues=placed,
        slots=max(0, free - ahead),
    )


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
        self._held = Holdings(config.concurrency, jobs, self._attempt, self.clock.now)
        self._paused = PausedLookout(store, self._held)
        self._pacer = Pacer(config.concurrency, config.max_prefetch)
        self._executors: Executors | None = None
        self._next_heartbeat = 0.0
        self._poll_at = 0.0
        self._queue_limits = False
        self._limits: tuple[tuple[str, ...], dict[str, LimitedJob]] = ((), {})  # jobs, limits
        self._loop = Loop("worker", self._step, log, on_exit=self._shutdown)
        self._listener = Listener(lambda: store.notifier(config.queues), self.wake)
        self._local = LocalRuns(
            store,
            config.node_id,
            config.lease_seconds,
            self.clock,
            self._held,
            lambda: self._executors,
            lambda: self._loop.stopping,
        )

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._loop.start()
        self._listener.start()

    def stop(self) -> None:
        """Claim nothing more, let running runs finish, hand back the rest; idempotent."""
        self._listener.request_stop()
        self._loop.stop(self.config.shutdown_timeout + 30)
        self._listener.stop()

    def wake(self) -> None:
        self._pacer.news()
        self._loop.wake()

    @property
    def busy(self) -> int:
        return self._held.busy

    # -- the loop -------------------------------------------------------------------------
    def _step(self) -> float:
        """One pass of the loop: seconds to wait before the next (0 when the claim was full)."""
        full = self._cycle(claim=True)
        self._heartbeat_if_due()
        if full:
            return 0.0
        now = time.monotonic()
        if now >= self._poll_at:
            self._poll_at = now + self.config.poll_interval
        until = self._next_deadline(self._poll_at)
        look = self._paused.next_look()  # in the future: the cycle just looked, or not yet due
        return max(0.0, min(until, look if look is not None else until) - now)

    def _next_deadline(self, poll_at: float) -> float:
        until = min(poll_at, self._next_heartbeat)
        for a in self._held.snapshot():
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

    def _start_buffered(self) -> None:
        for attempt in self._held.start_ready():
            self._submit(attempt)

    def _submit(self, attempt: Attempt) -> None:
        runlog.started(attempt)
        self._executors_ready().submit(attempt)

    def _cycle(self, claim: bool, only: int | None = None) -> bool:
        """Write decided outcomes and claim up to free capacity; True if the claim was full."""
        # Read before the outcomes are taken: a run that ends after has its outcome to write
        # next time, and must not pass for a slot freed without one.
        held_before = self._held.held
        self._collect()
        started, placed = self._held.take_started()  # after the outcomes they go with
        self._recorder.add_started([Started(r.id, r.attempt, at) for r, at in started])
        STATS.started(started)
        self._paused.hand_back_paused()
        self._release_handed_back()
        jobs = tuple(self.jobs)  # read each time: the app may define jobs after the start
        if jobs != self._limits[0]:  # the limits change only with the jobs: not per claim
            self._limits = (jobs, limited_jobs(self.jobs))
        limited = self._limits[1]
        under_limits = bool(limited) or self._queue_limits
        free = 0
        if only is not None:
            free = 1 if claim else 0
        elif claim and self._pacer.worth_claiming(
            held_before, bool(self._recorder.pending), time.monotonic() >= self._poll_at
        ):
            free = self._pacer.claim_limit(self._held.held, under_limits)
        if free <= 0 and not self._recorder.pending and not self._recorder.started:
            return False
        now = self.clock.now()
        began = time.monotonic()
        ahead = max(0, free - max(0, self.config.concurrency - self._held.held))
        params = claim_params(self.config, now, free, only, jobs, limited, ahead, placed)
        limited_claim = bool(limited) or self._queue_limits
        result = self._recorder.claim(replace(params, queue_limits=self._queue_limits))
        switched = result.queue_limits and not self._queue_limits
        self._queue_limits = result.queue_limits  # the next claim follows what this one saw
        self._pacer.round_trip(time.monotonic() - began)
        self._held.add_claimed(result.claimed, limited_claim)
        if only is None and free > 0:
            self._pacer.claimed(free, len(result.claimed), self._held.held, under_limits)
        STATS.claimed(result.claimed)
        self._start_buffered()
        if only is None and len(result.claimed) < free:  # nothing more of ours is due
            self._foreign.look(jobs, now)
        if switched:  # queue limits appeared: claim at once the runs this claim left
            self._pacer.news()
            return self._cycle(claim, only) or True
        return free > 0 and len(result.claimed) == free

    def _attempt(self, run: Run, spec: JobSpec) -> Attempt:
        """A new attempt for ``run`` (Holdings counts it in flight)."""
        now = time.monotonic()
        ctx = Context(
            run.id,
            run.attempt,
            run.job,
            progress_sink=progress_sink(self.store, run),
            node_id=self.config.node_id,
            local_worker=self._local,
        )
        deadline = loop_deadline(spec, run.timeout, now)  # if this loop must watch the timeout
        return Attempt(run, spec, ctx, now, deadline, upstream=self.store.workflow_upstream)

    def _executors_ready(self) -> Executors:
        if self._executors is None:
            self._executors = Executors.of(self.config, self._on_done)
        return self._executors

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
        following = self._held.end(
            attempt,
            handed_back,
            lambda: self._ended.put((attempt, o)),
            follow=not self._loop.stopping,
            reported=o is not None,
        )
        if following is not None:
            self._submit(following)
        self._loop.wake()

    def _settle_timeouts(self) -> None:
        settle_timeouts(
            self._held.snapshot(), self.config.node_id, self.clock.now, self._recorder.add
        )

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + max(0.1, self.config.lease_seconds / 4)
        ids = self._held.to_renew()
        if not ids:
            return
        wall = self.clock.now()
        lease_until = wall + timedelta(seconds=self.config.lease_seconds)
        cancel = self.store.runs_heartbeat(
            HeartbeatParams(self.config.node_id, wall, lease_until, ids)
        )
        wanted = set(cancel)
        for run in self._held.drop_buffered(wanted):
            self._recorder.add(Outcome.of(run, self.config.node_id, Event.STOP, wall))
        for a in self._held.snapshot():
            if a.run.id in wanted and not a.ctx.cancelled:
                a.ctx.request_cancel()
                a.cancel()

    # -- stopping -------------------------------------------------------------------------
    def _release_handed_back(self) -> None:
        runs = self._held.take_handed_back()
        if runs:
            try:
                self.store.runs_release(ReleaseParams(self.config.node_id, runs, self.clock.now()))
            except StorageUnavailable:
                self._held.put_back_handed_back(runs)
                raise
            self._pacer.news()  # their slots are free for other runs

    def shutdown(self) -> None:
        """Stop a worker driven by ``run_once`` (drain) as ``stop`` stops a started one."""
        self._loop.request_stop()
        self._shutdown()

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.config.shutdown_timeout
        for a in self._held.snapshot():
            a.ctx.begin_shutdown()
        held = self._held.take_buffered()
        if held:  # claimed ahead but never started: hand back at once
            ahead = ReleaseParams(self.config.node_id, held, self.clock.now())
            write_until(lambda: self.store.runs_release(ahead), deadline, self._loop.outage)
        while self._held.busy and time.monotonic() < deadline:
            self._collect(block_until=min(deadline, time.monotonic() + 0.5))
            write_until(lambda: self._cycle(claim=False), deadline, self._loop.outage)
            write_until(self._heartbeat_if_due, deadline, self._loop.outage)
        self._collect()
        write_until(lambda: self._cycle(claim=False), deadline + 10, self._loop.outage)
        left = self._held.snapshot()
        unfinished = [(a.run.id, a.run.attempt) for a in left if not a.settled]

        for a in left:
            a.ctx.request_cancel(shutdown=True)
            a.cancel()
        write_until(self._release_handed_back, deadline + 10, self._loop.outage)
        if unfinished:
            log.warning("shutdown: handing %d unfinished run(s) back to the queue", len(unfinished))
            release = ReleaseParams(self.config.node_id, unfinished, self.clock.now())
            write_until(lambda: self.store.runs_release(release), deadline + 10, self._loop.outage)
        self._held.clear()
        self.close()

    def close(self) -> None:
        if self._executors is not None:
            self._executors.shutdown()
            self._executors = None

    # -- one cycle, for tests and drain ---------------------------------------------------
    def run_once(
        self, wait: float = 3600.0, only: int | None = None, stop: threading.Event | None = None
    ) -> list[Outcome]:
        """Claim what is due (up to concurrency, or only run ``only``), run it, record it.

        With ``stop``, returns within a moment of it being set, leaving what still runs to
        ``shutdown`` (which lets it finish within the shutdown timeout, then hands it back).
        """
        self._pacer.news()  # asked for: claim whatever the last claim found
        self._cycle(claim=True, only=only)
        deadline = time.monotonic() + wait
        while self._held.held and time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                break
            # Heartbeats keep long runs' leases (and relay cancels); they also move the next
            # deadline forward, without which this loop would spin and starve the job threads.
            try:
                self._heartbeat_if_due()
            except StorageUnavailable as exc:
                log.warning("heartbeat failed, will retry: %s", exc)
            until = min(deadline, self._next_deadline(deadline))
            if stop is not None:
                until = min(until, time.monotonic() + 0.25)
            self._collect(block_until=until)
        self._collect()  # the last attempts may have ended after the loop's last look
        decided = list(self._recorder.pending)
        self._cycle(claim=False)
        return decided
