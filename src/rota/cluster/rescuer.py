"""The rescuer: runs whose node stopped heartbeating past their lease go back to the queue.

A rescue counts as a failed attempt (``WorkerLost``): back to ``queued``, or ``failed`` with
no attempts left. Each batch is one guarded UPDATE, so a second rescuer (two nodes that both
believe they lead, for a moment) never rescues a run twice.
"""

from __future__ import annotations

import logging

from rota.clock import Clock, SystemClock
from rota.storage.base import RescueParams, RunStore

log = logging.getLogger("rota.maintenance")


class Rescuer:
    name = "rescuer"

    def __init__(self, store: RunStore, interval: float, clock: Clock | None = None) -> None:
        self.store, self.interval = store, interval
        self.clock = clock or SystemClock()

    def run_once(self) -> int:
        """Rescue every run due for it; returns how many."""
        params = RescueParams(now=self.clock.now())
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
