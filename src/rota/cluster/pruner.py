"""The pruner: forgets what the cluster no longer needs (nodes long gone, expired idempotency
keys); the home of run retention. Deletes in short transactions, so a backlog takes a few
passes instead of one long lock."""

from __future__ import annotations

from datetime import timedelta

from rota.clock import Clock, SystemClock
from rota.storage.base import Store

NODE_RETENTION = timedelta(days=1)
BATCH, BATCHES = 1000, 20


class Pruner:
    name = "pruner"

    def __init__(
        self,
        store: Store,
        interval: float,
        clock: Clock | None = None,
        node_retention: timedelta = NODE_RETENTION,
    ) -> None:
        self.store, self.interval = store, interval
        self.clock = clock or SystemClock()
        self.node_retention = node_retention

    def run_once(self) -> int:
        """One pass; returns how many rows it deleted."""
        now = self.clock.now()
        deleted = self.store.nodes_prune(now - self.node_retention)
        for _ in range(BATCHES):
            n = self.store.idempotency_prune(now, BATCH)
            deleted += n
            if n < BATCH:
                break
        return deleted
