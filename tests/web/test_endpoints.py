"""Every endpoint of the REST table over real HTTP, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

import rota
from rota.limits import MAX_SEARCH
from tests.support import wait_until

from .conftest import Server, error_of, start_server

RUN_FIELDS = {
    "id", "job", "queue", "state", "args", "priority", "attempt", "schedule", "max_attempts",
    "run_at", "created_at", "started_at", "finished_at", "result", "errors", "progress",
}  # fmt: skip


def launch(api: httpx.Client, job: str, **body: object) -> dict[str, object]:
    response = api.post(f"/api/jobs/{job}/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, object] = response.json()
    return run


def test_health_and_jobs(api: httpx.Client) -> None:
    assert api.get("/api/health").json() == {"status": "ok"}
    body = api.get("/api/jobs").json()
    assert body["next_cursor"] is None
    jobs = {j["name"]: j for j in body["items"]}
    assert set(jobs) == {"add", "boom", "nothing", "block"}
    assert jobs["add"]["params"] == [
        {"name": "a", "type": "int", "required": True},
        {"name": "b", "type": "int", "required": False, "default": 0},
    ]
    assert jobs["boom"]["queue"] == "mail"
    assert jobs["add"]["doc"] == "Add two numbers."


def test_launch_returns_the_run(api: httpx.Client, local_app: rota.App) -> None:
    run = launch(api, "add", args={"a": 2, "b": 3})
    assert set(run) >= RUN_FIELDS
    assert run["job"] == "add" and run["state"] == "queued" and run["args"] == {"a": 2, "b": 3}
    assert run["attempt"] == 0 and run["max_attempts"] == 3 and run["schedule"] is None
    assert local_app.drain() == {"succeeded": 1}
    done = api.get(f"/api/runs/{run['id']}").json()
    assert done["state"] == "succeeded" and done["result"] == 5
    assert done["started_at"] and done["finished_at"]


def test_launch_options(api: httpx.Client) -> None:
    at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    run = launch(api, "add", args={"a": 1}, run_at=at.isoformat(), priority=-5, queue="q2")
    assert run["state"] == "scheduled" and run["priority"] == -5 and run["queue"] == "q2"
    assert datetime.fromisoformat(str(run["run_at"])) == at
    delayed = launch(api, "add", args={"a": 1}, delay=3600, max_attempts=7)
    assert delayed["state"] == "scheduled" and delayed["max_attempts"] == 7
    assert datetime.fromisoformat(str(delayed["run_at"])) > datetime.now(UTC) + timedelta(
        minutes=59
    )
    first = launch(api, "add", args={"a": 1}, unique_key="u1")
    again = launch(api, "add", args={"a": 1}, unique_key="u1")
    assert again["id"] == first["id"]
    assert launch(api, "nothing")["args"] == {}  # no body at all: no arguments
    empty = api.post("/api/jobs/nothing/runs")
    assert empty.status_code == 201


def test_launch_errors(api: httpx.Client) -> None:
    assert error_of(api.post("/api/jobs/nope/runs", json={}), 404)["code"] == "job_not_found"
    bad = error_of(api.post("/api/jobs/add/runs", json={"args": {"a": "x"}}), 422)
    assert bad["code"] == "invalid_arguments" and "expected int" in bad["message"]
    missing = error_of(api.post("/api/jobs/add/runs", json={"args": {}}), 422)
    assert "missing argument" in missing["message"]
    unknown = error_of(api.post("/api/jobs/add/runs", json={"args": {"a": 1, "z": 2}}), 422)
    assert "unknown argument" in unknown["message"]
    both = api.post(
        "/api/jobs/add/runs", json={"args": {"a": 1}, "delay": 1, "run_at": "2031-01-01T00:00:00Z"}
    )
    assert "either delay or run_at" in error_of(both, 422)["message"]
    extra = error_of(api.post("/api/jobs/add/runs", json={"args": {"a": 1}, "colour": 1}), 422)
    assert extra["code"] == "validation_error" and "colour" in extra["message"]
    assert api.get("/api/runs").json()["items"] == []  # nothing was stored


def test_list_filters_and_pagination(api: httpx.Client, local_app: rota.App) -> None:
    ids = [launch(api, "add", args={"a": i})["id"] for i in range(5)]
    boom = launch(api, "boom")["id"]
    local_app.drain()
    body = api.get("/api/runs").json()
    assert [r["id"] for r in body["items"]] == [boom, *reversed(ids)]
    assert body["next_cursor"] is None

    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/runs", params=params).json()
        seen += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert seen == [boom, *reversed(ids)] and pages == 3

    def listed(query: str) -> list[int]:
        response = api.get(f"/api/runs?{query}")
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert listed("state=failed") == [boom]
    assert listed("state=succeeded&job=add&limit=100") == list(reversed(ids))
    assert listed("state=failed,succeeded") == listed("state=failed&state=succeeded")
    assert len(listed("state=failed,succeeded")) == 6
    assert listed("queue=mail") == [boom]
    assert listed("job=boom&state=succeeded") == []
    assert error_of(api.get("/api/runs?state=done"), 422)["code"] == "validation_error"
    assert error_of(api.get("/api/runs?limit=0"), 422)["code"] == "validation_error"
    assert error_of(api.get("/api/runs?cursor=abc"), 422)["code"] == "validation_error"

    first_created = api.get(f"/api/runs/{ids[0]}").json()["created_at"]
    since = httpx.QueryParams({"created_after": first_created})
    assert listed(f"{since}&job=add") == list(reversed(ids))
    assert listed(str(httpx.QueryParams({"created_before": first_created}))) == []
    naive = api.get("/api/runs", params={"created_after": "2030-01-01T00:00:00"})
    assert error_of(naive, 422)["code"] == "validation_error"
    assert error_of(api.get("/api/runs?colour=red"), 400)["code"] == "unknown_parameter"


def test_list_searches_arguments(api: httpx.Client) -> None:
    first = launch(api, "boom", args={"message": "Disk FULL on host-7"})["id"]
    second = launch(api, "boom", args={"message": "disk full, 100% used"})["id"]
    launch(api, "boom", args={"message": "timeout"})

    def searched(text: str, **more: str) -> list[int]:
        response = api.get("/api/runs", params={"search": text, **more})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert searched("disk full") == [second, first]
    assert searched("100%") == [second]
    assert searched("DISK", limit="1") == [second]
    assert searched("nowhere") == []
    for bad in ("", "x" * (MAX_SEARCH + 1)):
        assert error_of(api.get("/api/runs", params={"search": bad}), 422)["code"] == (
            "validation_error"
        )
    nul = api.get("/api/runs", params={"search": "a\x00b"})
    assert error_of(nul, 400)["code"] == "bad_request"  # the guard, as for every parameter
    assert len(searched("x" * MAX_SEARCH)) == 0


def test_get_retry_cancel_delete(api: httpx.Client, local_app: rota.App) -> None:
    boom = launch(api, "boom", args={"message": "bad"})["id"]
    ok = launch(api, "add", args={"a": 1})["id"]
    local_app.drain()
    failed = api.get(f"/api/runs/{boom}").json()
    assert failed["state"] == "failed"
    [entry] = failed["errors"]
    assert entry["type"] == "ValueError" and entry["message"] == "bad" and entry["attempt"] == 1
    assert "Traceback" in entry["traceback"]

    retried = api.post(f"/api/runs/{boom}/retry")
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert error_of(api.post(f"/api/runs/{ok}/retry"), 409)["code"] == "conflict"

    cancelled = api.post(f"/api/runs/{boom}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert error_of(api.post(f"/api/runs/{ok}/cancel"), 409)["code"] == "conflict"

    waiting = launch(api, "add", args={"a": 1}, delay=600)["id"]
    assert error_of(api.delete(f"/api/runs/{waiting}"), 409)["code"] == "conflict"
    deleted = api.delete(f"/api/runs/{ok}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert error_of(api.get(f"/api/runs/{ok}"), 404)["code"] == "run_not_found"
    for method, path in (
        ("GET", "/api/runs/999999"),
        ("POST", "/api/runs/999999/retry"),
        ("POST", "/api/runs/999999/cancel"),
        ("DELETE", "/api/runs/999999"),
    ):
        assert error_of(api.request(method, path), 404)["code"] == "run_not_found"
    assert error_of(api.get("/api/runs/abc"), 422)["code"] == "validation_error"


def test_bulk_retry_by_state_job_and_queue(api: httpx.Client, local_app: rota.App) -> None:
    mail = [launch(api, "boom")["id"] for _ in range(2)]
    other = launch(api, "boom", queue="q2")["id"]
    ok = launch(api, "add", args={"a": 1})["id"]
    local_app.drain()
    waiting = launch(api, "add", args={"a": 2}, delay=600)["id"]
    assert api.post(f"/api/runs/{waiting}/cancel").json()["state"] == "cancelled"

    def state(run_id: int) -> object:
        return api.get(f"/api/runs/{run_id}").json()["state"]

    by_queue = api.post("/api/runs/retry", json={"state": "failed", "queue": "q2"})
    assert by_queue.status_code == 200 and by_queue.json() == {"retried": 1}
    assert state(other) == "queued" and [state(i) for i in mail] == ["failed", "failed"]
    by_job = api.post("/api/runs/retry", json={"state": "failed", "job": "add"})
    assert by_job.json() == {"retried": 0}
    every = api.post("/api/runs/retry", json={"state": "failed"})
    assert every.json() == {"retried": 2} and [state(i) for i in mail] == ["queued", "queued"]
    cancelled = api.post("/api/runs/retry", json={"state": "cancelled", "job": "add"})
    assert cancelled.json() == {"retried": 1} and state(waiting) == "queued"
    assert state(ok) == "succeeded"
    for body in ({"state": "succeeded"}, {}, {"state": "failed", "colour": "red"}):
        assert error_of(api.post("/api/runs/retry", json=body), 422)["code"] == "validation_error"
    put = api.put("/api/runs/retry")  # the bulk resource, not run "retry"
    assert put.status_code == 405 and put.headers["Allow"] == "POST"


def test_cancel_a_running_run(api: httpx.Client, local_app: rota.App, tmp_path: Path) -> None:
    run_id = launch(api, "block", args={"path": str(tmp_path / "never")})["id"]
    local_app.start(scheduler=False)
    try:
        wait_until(lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "running", 20)
        asked = api.post(f"/api/runs/{run_id}/cancel").json()
        assert asked["state"] == "running" and asked["cancel_requested"] is True
        wait_until(lambda: api.get(f"/api/runs/{run_id}").json()["state"] == "cancelled", 20)
    finally:
        local_app.stop()


def test_schedules(api: httpx.Client, local_app: rota.App) -> None:
    assert api.get("/api/schedules").json() == {"items": [], "next_cursor": None}
    local_app.add_schedule("nightly", "add", cron="0 3 * * *", kwargs={"a": 4})
    [listed] = api.get("/api/schedules").json()["items"]
    assert listed["name"] == "nightly" and listed["job"] == "add" and listed["paused"] is False
    assert listed["cron"] == "0 3 * * *" and listed["next_fire_at"]

    paused = api.post("/api/schedules/nightly/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    resumed = api.post("/api/schedules/nightly/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False

    triggered = api.post("/api/schedules/nightly/trigger")
    assert triggered.status_code == 201
    run = triggered.json()
    assert run["schedule"] == "nightly" and run["args"] == {"a": 4} and run["state"] == "queued"
    for action in ("pause", "resume", "trigger"):
        error = error_of(api.post(f"/api/schedules/nope/{action}"), 404)
        assert error["code"] == "schedule_not_found"

    # add_schedule accepts a name with a slash; its actions must reach it, not the 404 route.
    local_app.add_schedule("reports/daily", "add", every=3600, kwargs={"a": 1})
    assert api.post("/api/schedules/reports/daily/pause").json()["paused"] is True
    assert api.post("/api/schedules/reports/daily/resume").json()["paused"] is False
    assert api.post("/api/schedules/reports/daily/trigger").status_code == 201


def test_nodes(api: httpx.Client, local_app: rota.App) -> None:
    assert api.get("/api/nodes").json() == {"items": [], "next_cursor": None}
    local_app.start(scheduler=False)
    try:
        node = local_app.node
        assert node is not None
        [listed] = wait_until(lambda: api.get("/api/nodes").json()["items"], 20, "a node")
        assert listed["id"] == node.id and listed["state"] == "alive"
        assert "worker" in listed["roles"] and listed["pid"] == os_getpid()
    finally:
        local_app.stop()
    [stopped] = api.get("/api/nodes").json()["items"]
    assert stopped["state"] == "stopped"


def os_getpid() -> int:
    import os

    return os.getpid()


def test_openapi_docs_and_page(api: httpx.Client) -> None:
    spec = api.get("/api/openapi.json").json()
    paths = spec["paths"]
    expected = {
        "/api/health": {"get"},
        "/api/jobs": {"get"},
        "/api/jobs/{name}/runs": {"post"},
        "/api/runs": {"get"},
        "/api/runs/{run_id}": {"get", "delete"},
        "/api/runs/retry": {"post"},
        "/api/runs/{run_id}/retry": {"post"},
        "/api/runs/{run_id}/cancel": {"post"},
        "/api/schedules": {"get"},
        "/api/schedules/{name}/pause": {"post"},
        "/api/schedules/{name}/resume": {"post"},
        "/api/schedules/{name}/trigger": {"post"},
        "/api/batch/executions": {"get"},
        "/api/batch/executions/{execution_id}": {"get"},
        "/api/batch/executions/{execution_id}/restart": {"post"},
        "/api/batch/executions/{execution_id}/stop": {"post"},
        "/api/batch/executions/{execution_id}/abandon": {"post"},
        "/api/nodes": {"get"},
        "/api/queues": {"get"},
        "/api/queues/{name}/pause": {"post"},
        "/api/queues/{name}/resume": {"post"},
        "/api/queues/{name}": {"patch"},
        "/api/workflows": {"get"},
        "/api/workflows/{workflow_id}": {"get"},
        "/api/workflows/{workflow_id}/retry": {"post"},
        "/api/workflows/{workflow_id}/cancel": {"post"},
        "/metrics": {"get"},
    }
    assert {p: set(ops) for p, ops in paths.items()} == expected
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert paths["/api/health"]["get"]["security"] == []
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_unknown_paths_and_methods(api: httpx.Client) -> None:
    assert error_of(api.get("/api/nothing-here"), 404)["code"] == "not_found"
    assert error_of(api.get("/api/runs/"), 404)["code"] == "not_found"
    wrong = api.put("/api/runs/1")
    assert error_of(wrong, 405)["code"] == "method_not_allowed"
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "DELETE"}


def test_a_server_without_token_is_open_on_loopback(tmp_path: Path, database_url: str) -> None:
    server: Server = start_server(tmp_path, database_url, token=None)
    try:
        plain = httpx.get(f"{server.url}/api/jobs")
        assert plain.status_code == 200
        spec = httpx.get(f"{server.url}/api/openapi.json").json()
        assert "securitySchemes" not in spec.get("components", {})
    finally:
        assert server.stop() == 0
