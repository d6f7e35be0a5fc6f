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
from .webapp import SOURCE

FLAKY = """

@app.job(max_attempts=3, backoff=lambda attempt: 0)
def flaky(ctx: rota.Context) -> int:  # fails its first two attempts, then succeeds
    if ctx.attempt < 3:
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return ctx.attempt
"""


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
    add, boom = (("job", "add"), ("queue", "default")), (("job", "boom"), ("queue", "mail"))
    assert got[("rota_attempts_total", (*add[:1], ("outcome", "succeeded"), *add[1:]))] == 3
    assert got[("rota_attempts_total", (*boom[:1], ("outcome", "failed"), *boom[1:]))] == 1
    assert got[("rota_runs_finished_total", (*add, ("state", "succeeded")))] == 3
    assert got[("rota_runs_finished_total", (*boom, ("state", "failed")))] == 1
    assert got[("rota_run_duration_seconds_count", (("job", "add"),))] == 3
    assert got[("rota_run_duration_seconds_bucket", (("job", "add"), ("le", "+Inf")))] == 3
    assert got[("rota_queue_latency_seconds_count", (("queue", "default"),))] == 3
    assert got[("rota_nodes", (("state", "alive"),))] == 1
    assert ("process_resident_memory_bytes", ()) in got


def test_schedule_fires(api: httpx.Client, local_app: rota.App) -> None:
    local_app.add_schedule("tick", "nothing", every=0.2)
    local_app.start(worker=False)
    try:
        wait_until(lambda: len(local_app.schedules.fires("tick")) >= 2, 20, "two fires")
    finally:
        local_app.stop()
    got = samples(api)
    fired = got[("rota_schedule_fires_total", (("outcome", "fired"), ("schedule", "tick")))]
    assert fired >= 2
    # misfire counting itself is covered by the conformance suite (tests/storage/test_stats.py)
    assert "# TYPE rota_schedule_misfires_total counter" in api.get("/metrics").text
    assert got[("rota_nodes", (("state", "stopped"),))] == 1


def test_a_run_that_retried_twice_is_three_attempts_and_one_finished_run(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "webtest_app.py").write_text(SOURCE + FLAKY)
    node = start_server(tmp_path, database_url, node=True)
    try:
        check_attempts_and_runs(node.client)
    finally:
        assert node.stop() == 0, node.log()


def check_attempts_and_runs(api: httpx.Client) -> None:
    run = api.post("/api/jobs/flaky/runs", json={}).json()["id"]
    wait_until(lambda: api.get(f"/api/runs/{run}").json()["state"] == "succeeded", 30)

    got = samples(api)
    job = (("job", "flaky"), ("queue", "default"))
    attempts = {k[1]: v for k, v in got.items() if k[0] == "rota_attempts_total"}
    assert attempts == {(*job[:1], ("outcome", "retrying"), *job[1:]): 2,
                        (*job[:1], ("outcome", "succeeded"), *job[1:]): 1}  # fmt: skip
    finished = {k[1]: v for k, v in got.items() if k[0] == "rota_runs_finished_total"}
    assert finished == {(*job, ("state", "succeeded")): 1}
    text = api.get("/metrics").text
    assert "# HELP rota_attempts_total Attempts" in text
    assert "# HELP rota_runs_finished_total Runs" in text


def queue_labels(got: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {value for _, labels in got for name, value in labels if name == "queue"}


def test_queue_labels_stay_bounded_whatever_queues_runs_go_to(node: Server) -> None:
    """500 queues nobody named: the app's own queues, 50 others and "other" (counts kept)."""
    api = node.client
    for n in range(500):
        response = api.post("/api/jobs/nothing/runs", json={"queue": f"tenant-{n}"})
        assert response.status_code == 201, response.text
    api.post("/api/jobs/boom/runs", json={})  # a queue the app names ("mail")

    def all_done() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        got = samples(api)
        done = sum(v for (name, labels), v in got.items()
                   if name == "rota_runs_finished_total")  # fmt: skip
        # the worker counts an attempt when it ends, the database when its outcome is written:
        # wait for both, or a scrape between the two sees a run finished but still running
        ended = ("succeeded", "failed")
        stored = sum(v for (name, labels), v in got.items()
                     if name == "rota_runs" and dict(labels)["state"] in ended)  # fmt: skip
        return got if done == 501 and stored == 501 else None

    got = wait_until(all_done, 120, "501 runs to finish")
    # each family shows the app's queues, 50 others and "other" (the stored counts keep the
    # fullest queues, this process's counters the first it met): 2 x 50 others at most in all
    assert len(queue_labels(got) - {"default", "mail", "other"}) <= 100
    for name in ("rota_runs", "rota_attempts_total", "rota_runs_finished_total",
                 "rota_queue_latency_seconds_count"):  # fmt: skip
        series = {k: v for k, v in got.items() if k[0] == name}
        labels = queue_labels(series)
        assert {"mail", "other"} <= labels, name
        assert len(labels - {"default", "mail", "other"}) == 50, (name, sorted(labels))
        assert sum(series.values()) == 501, name  # nothing lost in "other"
    stored = (("queue", "other"), ("state", "succeeded"))
    assert got[("rota_runs", stored)] == 450


def test_fires_of_schedules_that_no_longer_exist_count_as_other(
    api: httpx.Client, local_app: rota.App
) -> None:
    local_app.add_schedule("gone", "nothing", every=0.2)
    local_app.start(worker=False)
    try:
        wait_until(lambda: len(local_app.schedules.fires("gone")) >= 2, 20, "two fires")
    finally:
        local_app.stop()
    fires = len(local_app.schedules.fires("gone"))
    local_app.schedules.remove("gone")
    got = samples(api)
    schedules = {dict(labels).get("schedule") for name, labels in got
                 if name.startswith("rota_schedule_")}  # fmt: skip
    assert schedules == {"other"}
    assert (
        got[("rota_schedule_fires_total", (("outcome", "fired"), ("schedule", "other")))] == fires
    )
