"""``GET /metrics``: Prometheus text, computed when scraped.

From the database, shared by the whole cluster (each one GROUP BY over a covering index, so a
scrape costs index reads, not a table scan): runs stored by state and queue, schedule fires and
misfires by schedule (from the fire history), nodes by state.

From this process only (counters kept by the workers running in it since it started, see
``rota.worker.stats``): attempts ended, by the state each left its run in; runs finished (an
attempt left them succeeded, failed or cancelled); attempt duration per job; queue latency per
queue. A node that runs no worker (``rota serve``) reports them empty: sum the scrapes of the
worker nodes for the cluster's view.

Label values are bounded, whatever names launchers send: jobs the app does not define, queues
past the app's own and 50 others, and schedules that no longer exist all read ``other`` (the
rule in full: ``rota.web.metric_labels``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Protocol

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

import rota.web.metric_labels as labels
from rota.app import App
from rota.storage.base import FireCount, ScheduleStore, StatsStore
from rota.web.deps import reject_unknown_query
from rota.web.errors import responses
from rota.worker.stats import BUCKETS, STATS, Histogram

log = logging.getLogger("rota.web")
MISFIRES = frozenset({"missed", "skipped"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes


class MetricsStore(StatsStore, ScheduleStore, Protocol):
    """What a scrape reads: the stored counts, and the schedules that label them."""


class RotaCollector(Collector):
    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._stored()
        yield from self._local()

    def _stored(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("rota_database_up", "1 if the database answered this scrape")
        try:
            store: MetricsStore = self.app.store
            runs = store.runs_count_by_state_queue()
            fires = store.schedule_fire_counts()
            schedule = labels.schedule_rule(self.app, store.schedules_list())
            now = self.app.clock.now()
            nodes = [n.to_json(now, self.app.lease_seconds) for n in self.app.nodes.list()]
        except Exception as exc:  # a scrape reports the outage instead of failing
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queue = labels.queue_rule(self.app, labels.by_count(runs))
        by_state = GaugeMetricFamily(
            "rota_runs", "Runs stored, by state and queue", labels=["state", "queue"]
        )
        stored = labels.summed(((c.state.value, queue(c.queue)), c.count) for c in runs)
        for (state, q), count in stored.items():
            by_state.add_metric([state, q], count)
        yield by_state
        yield from _fires(fires, schedule)
        node_states = GaugeMetricFamily(
            "rota_nodes", "Nodes seen in the last hour, by state", labels=["state"]
        )
        for state in ("alive", "stopped", "dead"):
            node_states.add_metric([state], sum(1 for n in nodes if n["state"] == state))
        yield node_states

    def _local(self) -> Iterator[Metric]:
        snap = STATS.snapshot()
        job = labels.job_rule(self.app, [*(k[0] for k in snap.attempts), *snap.durations])
        queue = labels.queue_rule(self.app, snap.queues)
        attempts = CounterMetricFamily(
            "rota_attempts",
            "Attempts ended in the workers of this process since it started, by job, queue and "
            "outcome: the state the attempt left its run in (succeeded, retrying, failed, "
            "cancelled). Per process: sum over the worker nodes",
            labels=["job", "queue", "outcome"],
        )
        for key, count in _mapped(snap.attempts, job, queue).items():
            attempts.add_metric(list(key), count)
        yield attempts
        finished = CounterMetricFamily(
            "rota_runs_finished",
            "Runs that an attempt in the workers of this process left in a terminal state "
            "(succeeded, failed, cancelled) since it started, by job, queue and state; runs "
            "cancelled before they started or rescued elsewhere are not counted. Per process: "
            "sum over the worker nodes",
            labels=["job", "queue", "state"],
        )
        for key, count in _mapped(snap.runs_finished, job, queue).items():
            finished.add_metric(list(key), count)
        yield finished
        yield _histogram(
            "rota_run_duration_seconds",
            "Attempt durations in the workers of this process since it started, by job",
            "job",
            _merged((job(name), h) for name, h in snap.durations.items()),
        )
        yield _histogram(
            "rota_queue_latency_seconds",
            "Seconds from due (created, or run_at if later) to started, "
            "for runs started by this process since it started, by queue",
            "queue",
            _merged((queue(name), h) for name, h in snap.latency.items()),
        )


def _fires(fires: Iterable[FireCount], schedule: labels.Labels) -> Iterator[Metric]:
    fired = CounterMetricFamily(
        "rota_schedule_fires",
        "Fire times handled, by schedule and outcome (fired, triggered, missed, ...), from the "
        "cluster's fire history",
        labels=["schedule", "outcome"],
    )
    counts = labels.summed(((schedule(f.schedule), f.outcome), f.count) for f in fires)
    for (name, outcome), count in counts.items():
        fired.add_metric([name, outcome], count)
    yield fired
    misfires = CounterMetricFamily(
        "rota_schedule_misfires",
        "Fire times missed (run late as one run, or skipped), by schedule",
        labels=["schedule"],
    )
    missed = labels.summed(
        (name, count if outcome in MISFIRES else 0) for (name, outcome), count in counts.items()
    )
    for name, count in missed.items():
        misfires.add_metric([name], count)
    yield misfires


def _mapped(
    counts: dict[tuple[str, str, str], int], job: labels.Labels, queue: labels.Labels
) -> dict[tuple[str, str, str], int]:
    return labels.summed(((job(j), queue(q), o), n) for (j, q, o), n in counts.items())


def _merged(series: Iterable[tuple[str, Histogram]]) -> list[tuple[str, Histogram]]:
    out: dict[str, Histogram] = {}
    for value, hist in series:
        out.setdefault(value, Histogram()).add(hist)
    return list(out.items())


def _histogram(
    name: str, doc: str, label: str, series: Iterable[tuple[str, Histogram]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    bounds = [*(f"{b:g}" for b in BUCKETS), "+Inf"]
    for value, hist in series:
        cumulative, running = [], 0
        for bound, count in zip(bounds, hist.counts, strict=True):
            running += count
            cumulative.append((bound, float(running)))
        family.add_metric([value], cumulative, hist.total)
    return family


def registry_for(app: App) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RotaCollector(app))
    ProcessCollector(registry=registry)
    return registry


router = APIRouter(dependencies=[Depends(reject_unknown_query)])


@router.get(
    "/metrics",
    tags=["system"],
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {}}},
        **responses(),
    },
)
def metrics(request: Request) -> Response:
    """Prometheus metrics of rota (text exposition format)."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)
