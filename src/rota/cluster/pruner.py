"""The pruner: forgets what the cluster no longer needs (nodes long gone, expired idempotency
keys) and deletes what retention lets go (old runs, the fire history beyond what is shown,
batch executions and workflows whose runs are gone).

Every delete is one short statement of at most ``batch`` rows; the pruner pauses between
batches as long as the last one took (so it holds the database at most half the time), and
repeats a sweep only while the pass is within its ``budget`` of seconds (each sweep still gets
one batch a pass): a backlog of a million runs takes many passes, and claims go on between
the batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial

from rota.clock import Clock, SystemClock
from rota.retention import DEFAULT_POLICY, Policy
from rota.storage.base import Store

NODE_RETENTION = timedelta(days=1)
RATE_START_GRACE = timedelta(hours=1)
"""How long after it expired a rate-limited start is forgotten by the sweep: a claim counts a
start while its window is open by the claim's clock, so the sweep leaves room for clock skew
and for a claim that read its time, then waited for the lock."""
FIRES_KEPT = 100
"""Fires kept per schedule: more than the dashboard (5) and ``rota schedules show`` (20)."""
WORKFLOW_GRACE = timedelta(days=1)
"""A workflow without steps is deleted only this long after it was created."""
BATCH = 1000
"""Rows a statement deletes at most. On SQLite a batch holds the one write lock (~35 ms for
1,000 runs), and a claim that meets it waits in SQLite's busy handler, whose sleeps are
coarse: batches of 200 kept the same claim p95 at half the pruning rate
(benchmarks/retention.py). PostgreSQL's claims lock only waiting runs and never wait on it."""


class Pruner:
    name = "pruner"

    def __init__(
        self,
        store: Store,
        interval: float,
        clock: Clock | None = None,
        node_retention: timedelta = NODE_RETENTION,
        retention: Policy = DEFAULT_POLICY,
    ) -> None:
        self.store, self.interval = store, interval
        self.clock = clock or SystemClock()
        self.node_retention = node_retention
        self.retention = retention
        self.batch = BATCH
        self.budget = max(0.2, min(5.0, interval / 4))
        """Seconds a pass may spend: the rescue and the lease renewal wait for it."""

    def run_once(self) -> int:
        """One pass; returns how many rows it deleted."""
        deadline = time.monotonic() + self.budget
        now = self.clock.now()
        deleted = self.store.nodes_prune(now - self.node_retention)
        for sweep in self._sweeps(now):
            while True:
                began = time.monotonic()
                n = sweep()
                deleted += n
                if n < self.batch or time.monotonic() >= deadline:
                    break
                time.sleep(time.monotonic() - began)  # let claims and launches through
        return deleted

    def _sweeps(self, now: datetime) -> Iterator[Callable[[], int]]:
        s, batch = self.store, self.batch
        yield lambda: s.idempotency_prune(now, batch)
        yield lambda: s.rate_starts_prune(now - RATE_START_GRACE, batch)
        for state, age in self.retention.items():
            yield partial(s.retention_runs, state, now - age, batch)
        yield lambda: s.retention_fires(FIRES_KEPT, batch)
        yield lambda: s.retention_batch(batch)
        yield lambda: s.retention_workflows(now - WORKFLOW_GRACE, batch)
