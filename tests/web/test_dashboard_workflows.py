"""The dashboard's workflow pages over real HTTP on both backends: the list with its cursor,
one workflow's graph and steps, ``Retry`` and ``Cancel`` (CSRF, roles, refusals), the link
from a step's run, and the 404s. What a browser does with them is in tests/browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import rota

from .conftest import READ_TOKEN, Server, start_server
from .test_dashboard import csrf_of


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    srv = start_server(tmp_path, database_url, read_token=READ_TOKEN)
    yield srv
    srv.stop()


def failed_workflow(app: rota.App, name: str = "onboard <b>") -> rota.WorkflowRecord:
    """account succeeds, then invoice fails (so report is cancelled) and welcome succeeds."""
    wf = rota.Workflow(name)
    wf.add("account", "add", {"a": 1})
    wf.add("invoice", "boom", {"message": "card declined"}, after=["account"])
    wf.add("welcome", "add", {"a": 2}, after=["account"])
    wf.add("report", "add", {"a": 3}, after=["welcome", "invoice"])
    handle = wf.enqueue(app=app)
    app.drain(queues=["default", "mail"])
    record = app.workflows.show(handle.id)
    assert record.state.value == "failed", record
    return record


def states(app: rota.App, workflow_id: int) -> dict[str, str]:
    return {s.name: s.state.value for s in app.workflows.show(workflow_id).steps}


def test_the_list_and_a_workflows_page_show_its_steps_graph_and_states(
    server: Server, local_app: rota.App
) -> None:
    client = server.client
    assert "No workflow has been launched." in client.get("/workflows").text
    older = failed_workflow(local_app, "older")
    wf = failed_workflow(local_app)
    listed = client.get("/workflows")
    assert listed.status_code == 200 and 'data-live="workflows"' in listed.text
    rows = re.findall(r'<a href="/workflows/(\d+)">#\d+</a>', listed.text)
    assert rows == [str(wf.id), str(older.id)]  # newest first
    assert "onboard &lt;b&gt;" in listed.text and "<b>" not in listed.text
    assert '<td data-label="Steps done">2 / 4</td>' in listed.text
    assert '<span class="state state-failed">failed</span>' in listed.text
    second = client.get("/workflows", params={"before": wf.id}).text
    assert re.findall(r'<a href="/workflows/(\d+)">', second) == [str(older.id)]
    assert 'href="/workflows">First page</a>' in second

    page = client.get(f"/workflows/{wf.id}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Workflow #" in html and 'data-live="workflow-body"' in html
    assert '<svg class="graph' in html and 'marker-end="url(#wf-arrow)"' in html
    for step in wf.steps:
        label = f'aria-label="Step {step.name}: {step.state.value}"'
        assert f'href="/runs/{step.run_id}"' in html and label in html, step
    assert states(local_app, wf.id) == {
        "account": "succeeded", "invoice": "failed", "welcome": "succeeded", "report": "cancelled",
    }  # fmt: skip
    assert '<td data-label="After" class="name">invoice, welcome</td>' in html
    assert ">Retry</button>" in html and ">Cancel</button>" not in html  # it has ended
    assert "script-src 'self'" in page.headers["content-security-policy"]

    invoice = wf.step("invoice").run_id
    run_page = client.get(f"/runs/{invoice}").text
    assert f'<a href="/workflows/{wf.id}">Workflow {wf.id}, step invoice</a>' in run_page
    plain = client.post("/api/jobs/add/runs", json={"args": {"a": 1}}).json()["id"]
    assert "Workflow " not in client.get(f"/runs/{plain}").text.split("<main")[1]

    for path, status in [("/workflows/999999", 404), ("/workflows/abc", 404),
                         ("/workflows/99999999999999999999", 404), ("/workflows?before=x", 400),
                         ("/workflows?before=0", 400)]:  # fmt: skip
        response = client.get(path)
        assert response.status_code == status, (path, response.text)
        assert 'role="alert"' in response.text


def test_retry_and_cancel_need_the_csrf_token_and_refuse_what_cannot_be_done(
    server: Server, local_app: rota.App
) -> None:
    client = server.client
    wf = failed_workflow(local_app)
    page = client.get(f"/workflows/{wf.id}")
    refused = client.post(f"/workflows/{wf.id}/retry", data={"csrf": "x" * 43})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert states(local_app, wf.id)["invoice"] == "failed"

    done = client.post(f"/workflows/{wf.id}/retry", data={"csrf": csrf_of(page)})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/workflows/{wf.id}?done=workflow_retry"
    assert states(local_app, wf.id) == {
        "account": "succeeded", "invoice": "queued", "welcome": "succeeded", "report": "waiting",
    }  # fmt: skip
    assert f"action role=admin action=retry_workflow target=workflow:{wf.id}" in server.log()
    shown = client.get(done.headers["location"]).text
    assert "Workflow retried" in shown and ">Cancel</button>" in shown
    assert ">Retry</button>" not in shown  # no step is failed or cancelled now
    again = client.post(f"/workflows/{wf.id}/retry", data={"csrf": csrf_of(page)})
    assert again.status_code == 409 and "no failed or cancelled step" in again.text

    done = client.post(f"/workflows/{wf.id}/cancel", data={"csrf": csrf_of(page)})
    assert done.status_code == 303
    assert done.headers["location"] == f"/workflows/{wf.id}?done=workflow_cancel"
    assert local_app.workflows.show(wf.id).state.value == "cancelled"
    assert states(local_app, wf.id)["report"] == "cancelled"
    assert f"action role=admin action=cancel_workflow target=workflow:{wf.id}" in server.log()
    again = client.post(f"/workflows/{wf.id}/cancel", data={"csrf": csrf_of(page)})
    assert again.status_code == 409 and "already ended cancelled" in again.text
    for path in ("/workflows/999999/retry", "/workflows/999999/cancel"):
        assert client.post(path, data={"csrf": csrf_of(page)}).status_code == 404, path
    assert (
        client.post(f"/workflows/{wf.id}/explode", data={"csrf": csrf_of(page)}).status_code == 404
    )


def test_the_read_only_token_sees_workflows_and_is_refused_their_actions(
    server: Server, local_app: rota.App
) -> None:
    wf = failed_workflow(local_app)
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=reader) as client:
        assert client.get("/workflows").status_code == 200
        page = client.get(f"/workflows/{wf.id}")
        assert page.status_code == 200 and "Read-only" in page.text
        for verb in ("retry", "cancel"):
            refused = client.post(f"/workflows/{wf.id}/{verb}", data={"csrf": csrf_of(page)})
            assert refused.status_code == 403 and "read-only" in refused.text
    assert states(local_app, wf.id)["invoice"] == "failed"
    assert local_app.workflows.show(wf.id).state.value == "failed"
