"""Counters of the workers running in this process, read by ``/metrics``.

They count what this process's workers did since it started (as Prometheus counters and
histograms do): attempts ended by outcome, attempt durations per job, and queue latency per
queue. A cluster-wide view is the sum over every node's scrape. Pure Python with one lock, so
the worker pays a dictionary update per attempt and ``import rota`` stays light.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from rota.runs import Run, RunState

BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0
)  # fmt: skip


@dataclass
class Histogram:
    """Counts per bucket (not cumulative; the last one is +Inf), and the sum of values."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    def copy(self) -> Histogram:
        return Histogram(list(self.counts), self.total)


@dataclass(frozen=True)
class StatsSnapshot:
    finished: dict[tuple[str, str, str], int]
    """(job, queue, outcome) -> attempts ended so (outcome: succeeded, retrying, failed, ...)."""
    durations: dict[str, Histogram]
    """job -> seconds from an attempt's start to its end."""
    latency: dict[str, Histogram]
    """queue -> seconds from a run being due (created, or its run_at if later) to its start."""


class WorkerStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: dict[tuple[str, str, str], int] = {}
        self._durations: dict[str, Histogram] = {}
        self._latency: dict[str, Histogram] = {}

    def claimed(self, runs: Iterable[Run]) -> None:
        with self._lock:
            for run in runs:
                if run.started_at is None:
                    continue
                due = max(run.created_at, run.run_at)
                wait = max(0.0, (run.started_at - due).total_seconds())
                self._latency.setdefault(run.queue, Histogram()).observe(wait)

    def ended(self, run: Run, outcome: RunState, duration: float) -> None:
        key = (run.job, run.queue, outcome.value)
        with self._lock:
            self._finished[key] = self._finished.get(key, 0) + 1
            self._durations.setdefault(run.job, Histogram()).observe(duration)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                dict(self._finished),
                {k: h.copy() for k, h in self._durations.items()},
                {k: h.copy() for k, h in self._latency.items()},
            )


STATS = WorkerStats()
"""The one instance of this process, updated by every Worker in it."""
