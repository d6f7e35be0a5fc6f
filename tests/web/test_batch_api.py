"""Batch executions over HTTP: list with cursor pages, show, restart (201), stop, abandon.

The server serves tests/acceptance/batchapp.py; the test process opens the same app on the same
database and runs the executions with ``drain`` (in tmp_path, where ``<tag>.out`` is written).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rota
from tests.acceptance import batchapp

from .conftest import Server, error_of, start_server

EXECUTION_PATHS = [
    ("GET", "/api/batch/executions/{id}"),
    ("POST", "/api/batch/executions/{id}/restart"),
    ("POST", "/api/batch/executions/{id}/stop"),
    ("POST", "/api/batch/executions/{id}/abandon"),
]


@pytest.fixture
def server(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The API server of the batch app (overrides the conftest's, so ``local_app`` loads it)."""
    (tmp_path / "webtest_app.py").write_text(Path(batchapp.__file__).read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATCH_FAIL_AT", raising=False)
    monkeypatch.delenv("BATCH_ITEMS", raising=False)
    srv = start_server(tmp_path, database_url)
    yield srv
    srv.stop()


def launch(api: httpx.Client, tag: str, job: str = "numbers") -> dict[str, Any]:
    response = api.post(f"/api/jobs/{job}/runs", json={"args": {"tag": tag}})
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


def listed(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/api/batch/executions", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert set(page) == {"items", "next_cursor"}
    return page


def shown(api: httpx.Client, execution_id: int) -> dict[str, Any]:
    response = api.get(f"/api/batch/executions/{execution_id}")
    assert response.status_code == 200, response.text
    execution: dict[str, Any] = response.json()
    return execution


def post(api: httpx.Client, execution_id: int, verb: str, status: int = 200) -> dict[str, Any]:
    response = api.post(f"/api/batch/executions/{execution_id}/{verb}")
    assert response.status_code == status, response.text
    execution: dict[str, Any] = response.json()
    return execution


def written(tmp_path: Path, tag: str) -> list[int]:
    return sorted(int(line) for line in (tmp_path / f"{tag}.out").read_text().split())


def failed_execution(
    api: httpx.Client, app: rota.App, monkeypatch: pytest.MonkeyPatch, tag: str = "b"
) -> dict[str, Any]:
    run = launch(api, tag)
    with monkeypatch.context() as m:
        m.setenv("BATCH_FAIL_AT", "15")
        app.drain()
    execution = app.batches.for_run(run["id"])
    assert execution is not None
    return shown(api, execution.id)


def test_list_pages_with_a_cursor_and_filters(api: httpx.Client, local_app: rota.App) -> None:
    runs = [launch(api, f"t{i}") for i in range(5)]
    everything = listed(api)
    assert everything["next_cursor"] is None
    items = everything["items"]
    assert [e["run_id"] for e in items] == [r["id"] for r in reversed(runs)]
    assert {e["state"] for e in items} == {"starting"}
    assert [e["args"] for e in items] == [{"tag": f"t{i}"} for i in reversed(range(5))]

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = listed(api, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert (pages, seen) == (3, [e["id"] for e in items])
    exact = listed(api, limit=5)
    assert exact["next_cursor"] is None and len(exact["items"]) == 5

    local_app.drain()
    assert {e["state"] for e in listed(api, state="completed")["items"]} == {"completed"}
    assert listed(api, state="failed")["items"] == []
    assert len(listed(api, state="failed,completed")["items"]) == 5
    assert len(listed(api, state=["failed", "completed"])["items"]) == 5
    assert len(listed(api, job="numbers")["items"]) == 5
    assert listed(api, job="spread")["items"] == []


def test_show_and_the_completed_instance_conflict(
    api: httpx.Client, local_app: rota.App, tmp_path: Path
) -> None:
    run = launch(api, "a")
    local_app.drain()
    [item] = listed(api)["items"]
    execution = shown(api, item["id"])
    assert execution == item
    assert execution["state"] == "completed"
    assert execution["run_id"] == run["id"]
    assert set(execution) >= {
        "id", "job", "args", "state", "run_id", "created_at", "started_at", "finished_at", "steps",
    }  # fmt: skip
    [step] = execution["steps"]
    assert "partitions" not in step
    assert {k: step[k] for k in ("name", "state", "read", "written", "commits")} == {
        "name": "load", "state": "completed", "read": 30, "written": 30, "commits": 3,
    }  # fmt: skip
    assert written(tmp_path, "a") == list(range(30))

    again = api.post("/api/jobs/numbers/runs", json={"args": {"tag": "a"}})
    assert error_of(again, 409)["code"] == "batch_conflict"
    for verb in ("restart", "stop", "abandon"):
        refused = api.post(f"/api/batch/executions/{item['id']}/{verb}")
        error = error_of(refused, 409)
        assert error["code"] == "batch_conflict" and "completed" in error["message"], verb
    assert len(listed(api)["items"]) == 1


def test_restart_resumes_a_failed_execution(
    api: httpx.Client, local_app: rota.App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = failed_execution(api, local_app, monkeypatch)
    assert failed["state"] == "failed"
    [step] = failed["steps"]
    assert (step["state"], step["read"], step["written"], step["commits"]) == ("failed", 10, 10, 1)
    assert "bad 15" in step["error"]

    new = post(api, failed["id"], "restart", 201)
    assert new["restart_of"] == failed["id"]
    assert new["state"] == "starting"
    assert new["instance_id"] == failed["instance_id"]
    assert new["id"] != failed["id"] and new["run_id"] != failed["run_id"]
    local_app.drain()
    done = shown(api, new["id"])
    assert done["state"] == "completed"
    assert (done["steps"][0]["read"], done["steps"][0]["written"]) == (20, 20)
    assert written(tmp_path, "b") == list(range(30))
    refused = api.post(f"/api/batch/executions/{failed['id']}/restart")
    assert error_of(refused, 409)["code"] == "batch_conflict"


def test_stop_and_abandon(
    api: httpx.Client, local_app: rota.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(api, "s")
    [waiting] = listed(api)["items"]
    stopped = post(api, waiting["id"], "stop")
    assert stopped["state"] == "stopped"
    assert post(api, waiting["id"], "stop") == stopped  # stopping again changes nothing
    assert api.get(f"/api/runs/{waiting['run_id']}").json()["state"] == "cancelled"

    failed = failed_execution(api, local_app, monkeypatch)
    assert error_of(api.post(f"/api/batch/executions/{failed['id']}/stop"), 409)
    abandoned = post(api, failed["id"], "abandon")
    assert abandoned["state"] == "abandoned"
    assert post(api, failed["id"], "abandon") == abandoned
    assert error_of(api.post(f"/api/batch/executions/{failed['id']}/restart"), 409)
    assert error_of(api.post("/api/jobs/numbers/runs", json={"args": {"tag": "b"}}), 409)
    # the stopped one is still restartable
    assert post(api, waiting["id"], "restart", 201)["restart_of"] == waiting["id"]


def test_partitions_are_listed_under_their_step(api: httpx.Client, local_app: rota.App) -> None:
    launch(api, "c", job="spread")
    local_app.drain()
    [execution] = listed(api)["items"]
    assert execution["state"] == "completed"
    prepare, load = execution["steps"]
    assert "partitions" not in prepare
    assert [(p["partition"], p["read"]) for p in load["partitions"]] == [(0, 15), (1, 15)]
    assert load["read"] == 30


def test_unknown_or_invalid_ids_and_parameters(api: httpx.Client) -> None:
    for method, path in EXECUTION_PATHS:
        response = api.request(method, path.format(id=999))
        error = error_of(response, 404)
        assert error["code"] == "execution_not_found", (method, path)
        assert "999" in error["message"]
        for bad in ("0", "-1", "x", str(2**63)):
            assert error_of(api.request(method, path.format(id=bad)), 422)
    for params in ({"state": "sleeping"}, {"limit": "0"}, {"limit": "1001"}, {"cursor": "x"}):
        assert error_of(api.get("/api/batch/executions", params=params), 422), params
    unknown = api.get("/api/batch/executions", params={"stat": "failed"})
    assert error_of(unknown, 400)["code"] == "unknown_parameter"
    assert error_of(api.get("/api/batch/executions/1/restart"), 405)


def test_the_token_is_required(server: Server) -> None:
    paths = [("GET", "/api/batch/executions")]
    paths += [(m, p.format(id=1)) for m, p in EXECUTION_PATHS]
    with httpx.Client(base_url=server.url) as anonymous:
        for method, path in paths:
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                response = anonymous.request(method, path, headers=headers)
                assert error_of(response, 401)["code"] == "unauthorized", (method, path)
    for method, path in paths:
        assert server.client.request(method, path).status_code in (200, 404), (method, path)


def test_openapi_documents_the_batch_operations(api: httpx.Client) -> None:
    doc = api.get("/api/openapi.json").json()
    paths = doc["paths"]
    assert "get" in paths["/api/batch/executions"]
    assert "get" in paths["/api/batch/executions/{execution_id}"]
    restart = paths["/api/batch/executions/{execution_id}/restart"]["post"]
    assert set(restart["responses"]) >= {"201", "404", "409"}
    for verb in ("stop", "abandon"):
        operation = paths[f"/api/batch/executions/{{execution_id}}/{verb}"]["post"]
        assert set(operation["responses"]) >= {"200", "404", "409"}
    execution = doc["components"]["schemas"]["BatchExecutionOut"]
    assert {"id", "job", "args", "state", "run_id", "steps"} <= set(execution["required"])
