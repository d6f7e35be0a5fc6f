"""Workflows over HTTP on both backends: list with cursor pages, show, retry, cancel.

The server serves tests/acceptance/workflowapp.py (``pipeline``: fetch and side first, check
after fetch, report after check and side; check fails while the file ``blocker`` exists). The
test process opens the same app on the same database and runs the steps with ``drain``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rota
from tests.acceptance import workflowapp

from .conftest import READ_TOKEN, Server, error_of, start_server

WORKFLOW_PATHS = [
    ("GET", "/api/workflows/{id}"),
    ("POST", "/api/workflows/{id}/retry"),
    ("POST", "/api/workflows/{id}/cancel"),
]
WORKFLOW_KEYS = {"id", "name", "state", "created_at", "finished_at", "steps"}
STEP_KEYS = {"name", "job", "run_id", "state", "after"}


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    """The API server of the workflow app (overrides the conftest's, so ``local_app`` loads it),
    with a read-only token too."""
    (tmp_path / "webtest_app.py").write_text(Path(workflowapp.__file__).read_text())
    srv = start_server(tmp_path, database_url, read_token=READ_TOKEN)
    yield srv
    srv.stop()


def launch(api: httpx.Client, tmp_path: Path) -> int:
    """Launch ``pipeline`` through REST; the run's id."""
    args = {"log": str(tmp_path / "ran.log"), "blocker": str(tmp_path / "blocker")}
    response = api.post("/api/jobs/pipeline/runs", json={"args": args})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def launched(api: httpx.Client, app: rota.App, tmp_path: Path) -> int:
    """Launch ``pipeline``, drain; the id of the workflow its run enqueued (its result)."""
    run_id = launch(api, tmp_path)
    app.drain()
    run = api.get(f"/api/runs/{run_id}").json()
    assert run["state"] == "succeeded", run
    assert isinstance(run["result"], int), run
    return int(run["result"])


def workflow(api: httpx.Client, workflow_id: int) -> dict[str, Any]:
    response = api.get(f"/api/workflows/{workflow_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def states(wf: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["state"] for s in wf["steps"]}


def ran(tmp_path: Path) -> Counter[str]:
    return Counter(workflowapp.ran(str(tmp_path / "ran.log")))


def test_a_workflow_launched_through_rest_runs_every_step(
    api: httpx.Client, local_app: rota.App, tmp_path: Path
) -> None:
    assert api.get("/api/workflows").json() == {"items": [], "next_cursor": None}
    workflow_id = launched(api, local_app, tmp_path)
    wf = workflow(api, workflow_id)
    assert set(wf) == WORKFLOW_KEYS and all(set(s) == STEP_KEYS for s in wf["steps"]), wf
    assert (wf["id"], wf["name"], wf["state"]) == (workflow_id, "pipeline", "succeeded")
    assert wf["finished_at"] and wf["created_at"]
    assert [(s["name"], s["job"], s["after"]) for s in wf["steps"]] == [
        ("fetch", "fetch", []),
        ("side", "fetch", []),
        ("check", "check", ["fetch"]),
        ("report", "report", ["side", "check"]),
    ]
    assert set(states(wf).values()) == {"succeeded"}
    assert ran(tmp_path) == {"fetch": 1, "side": 1, "check": 1, "report": 1}
    step = api.get(f"/api/runs/{wf['steps'][2]['run_id']}").json()
    assert (step["workflow"], step["step"], step["result"]) == (workflow_id, "check", 2)
    assert api.get("/api/workflows").json() == {"items": [wf], "next_cursor": None}
    # the same object as the Python API's
    assert local_app.workflows.show(workflow_id).to_json() == wf


def test_retry_after_the_cause_is_fixed_runs_only_what_failed(
    api: httpx.Client, local_app: rota.App, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.touch()
    workflow_id = launched(api, local_app, tmp_path)
    failed = workflow(api, workflow_id)
    assert failed["state"] == "failed"
    assert states(failed) == {
        "fetch": "succeeded",
        "side": "succeeded",
        "check": "failed",
        "report": "cancelled",
    }
    report = api.get(f"/api/runs/{failed['steps'][3]['run_id']}").json()
    assert [e["type"] for e in report["errors"]] == ["UpstreamFailed"], report
    assert "'check'" in report["errors"][0]["message"]

    blocker.unlink()
    response = api.post(f"/api/workflows/{workflow_id}/retry")
    assert response.status_code == 200, response.text
    retried = response.json()
    assert retried["state"] == "running" and retried["finished_at"] is None
    assert states(retried) == {
        "fetch": "succeeded",
        "side": "succeeded",
        "check": "queued",
        "report": "waiting",
    }
    local_app.drain()
    assert workflow(api, workflow_id)["state"] == "succeeded"
    assert ran(tmp_path) == {"fetch": 1, "side": 1, "check": 2, "report": 1}

    again = error_of(api.post(f"/api/workflows/{workflow_id}/retry"), 409)
    assert again["code"] == "conflict" and "no failed or cancelled step" in again["message"]


def test_cancel_then_retry(
    server: Server, api: httpx.Client, local_app: rota.App, tmp_path: Path
) -> None:
    wf = rota.Workflow("by hand")
    log = str(tmp_path / "ran.log")
    wf.add("one", "fetch", {"log": log, "step": "one", "n": 1})
    wf.add("two", "fetch", {"log": log, "step": "two", "n": 2}, after=["one"])
    workflow_id = wf.enqueue(app=local_app).id

    response = api.post(f"/api/workflows/{workflow_id}/cancel")
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["state"] == "cancelled" and cancelled["finished_at"]
    assert states(cancelled) == {"one": "cancelled", "two": "cancelled"}
    assert workflow(api, workflow_id) == cancelled
    ended = error_of(api.post(f"/api/workflows/{workflow_id}/cancel"), 409)
    assert ended["code"] == "conflict" and "already ended cancelled" in ended["message"]
    assert local_app.drain() == {}
    assert ran(tmp_path) == {}

    retried = api.post(f"/api/workflows/{workflow_id}/retry").json()
    assert states(retried) == {"one": "queued", "two": "waiting"}
    local_app.drain()
    assert workflow(api, workflow_id)["state"] == "succeeded"
    assert ran(tmp_path) == {"one": 1, "two": 1}
    actions = f"action role=admin action=cancel_workflow target=workflow:{workflow_id}"
    assert actions in server.log()
    assert f"action=retry_workflow target=workflow:{workflow_id} runs:2" in server.log()


def test_pages_with_a_cursor(api: httpx.Client, local_app: rota.App) -> None:
    ids = []
    for n in range(3):
        wf = rota.Workflow(f"w{n}")
        wf.add("only", "fetch", {"log": "unused", "step": "only", "n": n})
        ids.append(wf.enqueue(app=local_app).id)
    first = api.get("/api/workflows", params={"limit": 2}).json()
    assert [w["id"] for w in first["items"]] == [ids[2], ids[1]]
    assert first["next_cursor"] == str(ids[1])
    rest = api.get("/api/workflows", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [w["id"] for w in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    assert [w["state"] for w in rest["items"]] == ["running"]


def test_unknown_or_invalid_ids_and_parameters(api: httpx.Client) -> None:
    for method, path in WORKFLOW_PATHS:
        error = error_of(api.request(method, path.format(id=999)), 404)
        assert error["code"] == "workflow_not_found", (method, path)
        assert "999" in error["message"]
        for bad in ("0", "-1", "x", "1.5", str(2**63)):
            assert error_of(api.request(method, path.format(id=bad)), 422)["code"] == (
                "validation_error"
            )
    for params in ({"limit": "0"}, {"limit": "1001"}, {"cursor": "x"}, {"cursor": "0"}):
        assert error_of(api.get("/api/workflows", params=params), 422), params
    unknown = api.get("/api/workflows", params={"state": "failed"})
    assert error_of(unknown, 400)["code"] == "unknown_parameter"
    assert error_of(api.get("/api/workflows/1/retry"), 405)


def test_the_read_only_token_reads_but_cannot_act(
    server: Server, local_app: rota.App, tmp_path: Path
) -> None:
    wf = rota.Workflow("read only")
    wf.add("one", "fetch", {"log": str(tmp_path / "ran.log"), "step": "one", "n": 1})
    workflow_id = wf.enqueue(app=local_app).id
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=reader) as client:
        assert client.get("/api/workflows").json()["items"][0]["id"] == workflow_id
        assert client.get(f"/api/workflows/{workflow_id}").status_code == 200
        for verb in ("retry", "cancel"):
            error = error_of(client.post(f"/api/workflows/{workflow_id}/{verb}"), 403)
            assert error["code"] == "forbidden", verb
    with httpx.Client(base_url=server.url) as anonymous:
        for method, path in [("GET", "/api/workflows"), *WORKFLOW_PATHS]:
            response = anonymous.request(method, path.format(id=workflow_id))
            assert error_of(response, 401)["code"] == "unauthorized", (method, path)
    assert local_app.workflows.show(workflow_id).state.value == "running"


def test_openapi_documents_the_workflow_operations(api: httpx.Client) -> None:
    doc = api.get("/api/openapi.json").json()
    paths = doc["paths"]
    assert paths["/api/workflows"]["get"]["operationId"] == "list_workflows"
    shown = paths["/api/workflows/{workflow_id}"]["get"]
    assert set(shown["responses"]) >= {"200", "404", "422"}
    for verb in ("retry", "cancel"):
        operation = paths[f"/api/workflows/{{workflow_id}}/{verb}"]["post"]
        assert set(operation["responses"]) >= {"200", "404", "409", "422"}
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/WorkflowOut"
        }
    schemas = doc["components"]["schemas"]
    assert set(schemas["WorkflowOut"]["required"]) == {
        "id",
        "name",
        "state",
        "created_at",
        "finished_at",
        "steps",
    }
    assert set(schemas["WorkflowStepOut"]["required"]) == {
        "name",
        "job",
        "run_id",
        "state",
        "after",
    }
    assert {"workflow", "step"} <= set(schemas["RunOut"]["required"])
