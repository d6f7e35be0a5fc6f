"""The rescuer: runs whose node is dead, or stopped heartbeating past their lease, go back.

A node is dead by liveness once it has not been seen for ``NODE_DEAD_AFTER_SECONDS``
(``rota.nodes``), or it stopped: its running runs are rescued then, whatever their leases.
Runs of a process that is not a node (``app.drain``, ``rota exec``) wait out their lease.
A rescue counts as a failed attempt (``WorkerLost``): back to ``queued``, or ``failed`` with
no attempts left. Each batch is one guarded UPDATE, so a second rescuer (two nodes that both
believe they lead, for a moment) never rescues a run twice, and a late result of the node
declared dead is refused (its attempt is no longer the run's).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from rota.clock import Clock, SystemClock
from rota.storage.base import RescueParams, RunStore

log = logging.getLogger("rota.maintenance")


class Liveness(Protocol):
    def dead_before(self, now: datetime) -> datetime | None: ...


class Rescuer:
    name = "rescuer"

    def __init__(
        self,
        store: RunStore,
        interval: float,
        clock: Clock | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        self.store, self.interval = store, interval
        self.clock = clock or SystemClock()
        self.liveness = liveness

    def run_once(self) -> int:
        """Rescue every run due for it; returns how many."""
        now = self.clock.now()
        dead_before = None if self.liveness is None else self.liveness.dead_before(now)
        params = RescueParams(now=now, dead_before=dead_before)
        rescued = 0
        while True:
            batch = self.store.runs_rescue(params)
            for run in batch:
                log.warning(
                    "rescued run %s (%s) attempt %s from dead node %s: now %s",
                    run.id,
                    run.job,
                    run.attempt,
                    run.node_id,
                    run.state.value,
                )
            rescued += len(batch)
            if len(batch) < params.limit:
                return rescued
