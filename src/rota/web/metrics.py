"""``GET /metrics``: Prometheus text, computed when scraped.

From the database, shared by the whole cluster (each one GROUP BY over a covering index, so a
scrape costs index reads, not a table scan): runs by state and queue, schedule fires and
misfires by schedule (from the fire history), nodes by state.

From this process only (counters kept by the workers running in it, see
``rota.worker.stats``): attempts ended by outcome, attempt duration per job, and queue latency
per queue. A node that runs no worker (``rota serve``) reports them empty: sum the scrapes of
the worker nodes for the cluster's view.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

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

from rota.app import App
from rota.web.deps import reject_unknown_query
from rota.web.errors import responses
from rota.worker.stats import BUCKETS, STATS, Histogram

log = logging.getLogger("rota.web")
MISFIRES = frozenset({"missed", "skipped"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes


class RotaCollector(Collector):
    def __init__(self, app: App) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        yield from self._stored()
        yield from self._local()

    def _stored(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("rota_database_up", "1 if the database answered this scrape")
        try:
            store = self.app.store
            runs = store.runs_count_by_state_queue()
            fires = store.schedule_fire_counts()
            now = self.app.now()
            nodes = [n.to_json(now, self.app.lease_seconds) for n in self.app.nodes()]
        except Exception as exc:  # a scrape reports the outage instead of failing
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_state = GaugeMetricFamily(
            "rota_runs", "Runs stored, by state and queue", labels=["state", "queue"]
        )
        for c in runs:
            by_state.add_metric([c.state.value, c.queue], c.count)
        yield by_state
        fired = CounterMetricFamily(
            "rota_schedule_fires",
            "Fire times handled, by schedule and outcome (fired, triggered, missed, ...)",
            labels=["schedule", "outcome"],
        )
        missed: dict[str, int] = {}
        for f in fires:
            fired.add_metric([f.schedule, f.outcome], f.count)
            late = f.count if f.outcome in MISFIRES else 0
            missed[f.schedule] = missed.get(f.schedule, 0) + late
        yield fired
        misfires = CounterMetricFamily(
            "rota_schedule_misfires",
            "Fire times missed (run late as one run, or skipped), by schedule",
            labels=["schedule"],
        )
        for name, count in missed.items():
            misfires.add_metric([name], count)
        yield misfires
        node_states = GaugeMetricFamily(
            "rota_nodes", "Nodes seen in the last hour, by state", labels=["state"]
        )
        for state in ("alive", "stopped", "dead"):
            node_states.add_metric([state], sum(1 for n in nodes if n["state"] == state))
        yield node_states

    def _local(self) -> Iterator[Metric]:
        snap = STATS.snapshot()
        finished = CounterMetricFamily(
            "rota_runs_finished",
            "Attempts ended by the workers of this process, by job, queue and outcome",
            labels=["job", "queue", "outcome"],
        )
        for (job, queue, outcome), count in snap.finished.items():
            finished.add_metric([job, queue, outcome], count)
        yield finished
        yield _histogram(
            "rota_run_duration_seconds",
            "Attempt durations in the workers of this process, by job",
            "job",
            snap.durations.items(),
        )
        yield _histogram(
            "rota_queue_latency_seconds",
            "Seconds from due (created, or run_at if later) to started, "
            "for runs started by this process",
            "queue",
            snap.latency.items(),
        )


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
