"""Counters of the workers running in this process, read by ``/metrics``.

They count what this process's workers did since it started (as Prometheus counters and
histograms do): attempts ended, by the state each left its run in; runs finished (attempts that
left their run in a terminal state); attempt durations per job; queue latency per queue. A
cluster-wide view is the sum over every node's scrape. Pure Python with one lock, so the worker
pays a dictionary update per attempt and ``import rota`` stays light.

Job and queue names come from stored runs, which any launcher may have written: past
``MAX_VALUES`` distinct names of either, further ones are counted as ``OTHER``, so a long-lived
worker keeps bounded memory. ``/metrics`` narrows the names further (see ``rota.web.metrics``).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rota.runs import TERMINAL, Run, RunState

BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0
)  # fmt: skip
OTHER = "other"
MAX_VALUES = 1000


@dataclass
class Histogram:
    """Counts per bucket (not cumulative; the last one is +Inf), and the sum of values."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value

    def add(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total

    def copy(self) -> Histogram:
        return Histogram(list(self.counts), self.total)


@dataclass(frozen=True)
class StatsSnapshot:
    attempts: dict[tuple[str, str, str], int]
    """(job, queue, outcome) -> attempts ended so (outcome: the run's state after the attempt:
    succeeded, retrying, failed, cancelled)."""
    runs_finished: dict[tuple[str, str, str], int]
    """(job, queue, state) -> runs whose attempt left them terminal (succeeded, failed,
    cancelled)."""
    durations: dict[str, Histogram]
    """job -> seconds from an attempt's start to its end."""
    latency: dict[str, Histogram]
    """queue -> seconds from a run being due (created, or its run_at if later) to its start."""
    queues: tuple[str, ...]
    """The queue names counted, in the order this process first met them."""


class _Names:
    """Distinct names in first-seen order, at most ``MAX_VALUES``; later ones read ``OTHER``."""

    def __init__(self) -> None:
        self.seen: dict[str, None] = {}

    def __call__(self, name: str) -> str:
        if name in self.seen:
            return name
        if len(self.seen) >= MAX_VALUES:
            return OTHER
        self.seen[name] = None
        return name


class WorkerStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs, self._queues = _Names(), _Names()
        self._attempts: dict[tuple[str, str, str], int] = {}
        self._runs: dict[tuple[str, str, str], int] = {}
        self._durations: dict[str, Histogram] = {}
        self._latency: dict[str, Histogram] = {}

    def claimed(self, runs: Iterable[Run]) -> None:
        with self._lock:
            for run in runs:
                if run.started_at is None:
                    continue
                due = max(run.created_at, run.run_at)
                wait = max(0.0, (run.started_at - due).total_seconds())
                self._latency.setdefault(self._queues(run.queue), Histogram()).observe(wait)

    def started(self, runs: Iterable[tuple[Run, datetime]]) -> None:
        """Runs claimed ahead that started (at the time given): their wait to start."""
        with self._lock:
            for run, at in runs:
                wait = max(0.0, (at - max(run.created_at, run.run_at)).total_seconds())
                self._latency.setdefault(self._queues(run.queue), Histogram()).observe(wait)

    def ended(self, run: Run, outcome: RunState, duration: float) -> None:
        with self._lock:
            job, queue = self._jobs(run.job), self._queues(run.queue)
            key = (job, queue, outcome.value)
            self._attempts[key] = self._attempts.get(key, 0) + 1
            if outcome in TERMINAL:
                self._runs[key] = self._runs.get(key, 0) + 1
            self._durations.setdefault(job, Histogram()).observe(duration)

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                dict(self._attempts),
                dict(self._runs),
                {k: h.copy() for k, h in self._durations.items()},
                {k: h.copy() for k, h in self._latency.items()},
                tuple(self._queues.seen),
            )


STATS = WorkerStats()
"""The one instance of this process, updated by every Worker in it."""
