"""The pruner: forgets what the cluster no longer needs (nodes long gone, expired idempotency
keys); the home of run retention. Deletes in short transactions, so a backlog takes a few
passes instead of one long lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rota.clock import Clock, SystemClock
from rota.storage.base import Store

NODE_RETENTION = timedelta(days=1)
RATE_START_GRACE = timedelta(hours=1)
"""How long after it expired a rate-limited start is forgotten by the sweep: a claim counts a
start while its window is open by the claim's clock, so the sweep leaves room for clock skew
and for a claim that read its time, then waited for the lock."""
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
        sweeps: list[Callable[[], int]] = [
            lambda: self.store.idempotency_prune(now, BATCH),
            lambda: self.store.rate_starts_prune(now - RATE_START_GRACE, BATCH),
        ]
        for prune in sweeps:
            for _ in range(BATCHES):
                n = prune()
                deleted += n
                if n < BATCH:
                    break
        return deleted
