"""Runs a job asks its own worker to execute: a partitioned batch step's partitions that no
other worker took.

The step waits on them in its slot, so that slot's capacity goes to them: they start at once,
past the concurrency, and from then on are runs of this worker like any other (heartbeats,
cancels, timeouts, the outage-safe outcome queue, stats and the run log).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rota.clock import Clock
from rota.storage.base import ClaimParams, ReleaseParams, Store
from rota.worker import runlog
from rota.worker.executors import Executors
from rota.worker.holdings import Holdings
from rota.worker.stats import STATS


class LocalRuns:
    """The ``rota.context.LocalWorker`` of one worker, handed to its runs' contexts."""

    def __init__(
        self,
        store: Store,
        node_id: str,
        lease_seconds: float,
        clock: Clock,
        held: Holdings,
        executors: Callable[[], Executors | None],
        stopping: Callable[[], bool],
    ) -> None:
        self.store, self.clock = store, clock
        self.node_id, self.lease_seconds = node_id, lease_seconds
        self._held, self._executors, self._stopping = held, executors, stopping

    def run_here(self, run_id: int) -> bool:
        """Claim ``run_id`` for this worker and start it now; False if it was not taken here
        (another node took it first, or this worker is stopping). On the asking job's thread."""
        executors = self._executors()
        if executors is None or self._stopping():
            return False
        now = self.clock.now()
        lease = now + timedelta(seconds=self.lease_seconds)
        claim = ClaimParams(self.node_id, None, 1, now, lease, run_id=run_id)
        claimed = self.store.runs_claim(claim).claimed
        if not claimed:
            return False
        STATS.claimed(claimed)
        run = claimed[0]
        attempt = self._held.adopt(run)
        if attempt is None:  # a job this worker lacks: back to the queue, unattempted
            self.store.runs_release(
                ReleaseParams(self.node_id, [(run.id, run.attempt)], self.clock.now())
            )
            return False
        if self._stopping():  # the worker began stopping meanwhile: hand it back soon
            attempt.ctx.begin_shutdown()
        runlog.started(attempt)
        executors.submit(attempt, spare=True)
        return True

    def running_here(self, run_id: int) -> bool:
        return self._held.holds(run_id)
