"""Cluster housekeeping: rescue runs of dead nodes, promote due runs, forget old nodes and
expired idempotency keys.

Any number of nodes may run this at once: every step is a single guarded UPDATE or DELETE, so
two rescuers never rescue the same run twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from rota.clock import Clock, SystemClock
from rota.cluster.service import PeriodicService
from rota.storage.base import IdempotencyStore, NodeStore, RescueParams, RunStore
from rota.storage.batch_store import BatchStore

log = logging.getLogger("rota.maintenance")


class MaintenanceStore(RunStore, BatchStore, NodeStore, IdempotencyStore, Protocol):
    """What one maintenance pass rescues, promotes, reconciles and prunes."""


class Maintenance(PeriodicService):
    name = "maintenance"

    def __init__(
        self,
        store: MaintenanceStore,
        lease_seconds: float,
        clock: Clock | None = None,
        node_retention: timedelta = timedelta(days=1),
    ) -> None:
        super().__init__()
        self.store = store
        self.clock = clock or SystemClock()
        self.interval = max(0.2, min(5.0, lease_seconds / 4))
        self.node_retention = node_retention

    def run_once(self) -> int:
        """One pass; returns how many runs were rescued."""
        now = self.clock.now()
        rescued = 0
        params = RescueParams(now=now)
        while True:
            batch = self.store.runs_rescue(params)
            for run in batch:
                self.log.warning(
                    "rescued run %s (%s) attempt %s from dead node %s: now %s",
                    run.id,
                    run.job,
                    run.attempt,
                    run.node_id,
                    run.state.value,
                )
            rescued += len(batch)
            if len(batch) < params.limit:
                break
        self.store.runs_promote(now)
        ended = self.store.batch_reconcile(now)
        if ended:
            self.log.info("ended %s batch execution(s) whose run had ended", ended)
        self.store.nodes_prune(now - self.node_retention)
        self._prune_idempotency(now)
        return rescued

    def _prune_idempotency(self, now: datetime, batch: int = 1000, batches: int = 20) -> None:
        """Forget expired idempotency keys in short transactions; a backlog takes a few passes."""
        for _ in range(batches):
            if self.store.idempotency_prune(now, batch) < batch:
                return
