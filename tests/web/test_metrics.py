"""/metrics over HTTP: Prometheus text, from the database and from this node's workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import rota
from tests.support import wait_until

from .conftest import Server, start_server


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Server]:
    """A server that also runs a worker in its process (as ``rota run`` does)."""
    srv = start_server(tmp_path, database_url, node=True)
    yield srv
    assert srv.stop() == 0, srv.log()


def samples(api: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_of_a_node(node: Server) -> None:
    api = node.client
    ids = [api.post("/api/jobs/add/runs", json={"args": {"a": n}}).json()["id"] for n in range(3)]
    boom = api.post("/api/jobs/boom/runs", json={}).json()["id"]
    api.post("/api/jobs/add/runs", json={"args": {"a": 1}, "delay": 3600, "queue": "later"})
    for run_id in [*ids, boom]:
        wait_until(lambda r=run_id: api.get(f"/api/runs/{r}").json()["finished_at"], 30)

    got = samples(api)
    assert got[("rota_database_up", ())] == 1
    assert got[("rota_runs", (("queue", "default"), ("state", "succeeded")))] == 3
    assert got[("rota_runs", (("queue", "mail"), ("state", "failed")))] == 1
    assert got[("rota_runs", (("queue", "later"), ("state", "scheduled")))] == 1
    finished = (("job", "add"), ("outcome", "succeeded"), ("queue", "default"))
    assert got[("rota_runs_finished_total", finished)] == 3
    failed = (("job", "boom"), ("outcome", "failed"), ("queue", "mail"))
    assert got[("rota_runs_finished_total", failed)] == 1
    assert got[("rota_run_duration_seconds_count", (("job", "add"),))] == 3
    assert got[("rota_run_duration_seconds_bucket", (("job", "add"), ("le", "+Inf")))] == 3
    assert got[("rota_queue_latency_seconds_count", (("queue", "default"),))] == 3
    assert got[("rota_nodes", (("state", "alive"),))] == 1
    assert ("process_resident_memory_bytes", ()) in got


def test_schedule_fires(api: httpx.Client, local_app: rota.App) -> None:
    local_app.add_schedule("tick", "nothing", every=0.2)
    local_app.start(worker=False)
    try:
        wait_until(lambda: len(local_app.schedule_fires("tick")) >= 2, 20, "two fires")
    finally:
        local_app.stop()
    got = samples(api)
    fired = got[("rota_schedule_fires_total", (("outcome", "fired"), ("schedule", "tick")))]
    assert fired >= 2
    # misfire counting itself is covered by the conformance suite (tests/storage/test_stats.py)
    assert "# TYPE rota_schedule_misfires_total counter" in api.get("/metrics").text
    assert got[("rota_nodes", (("state", "stopped"),))] == 1
