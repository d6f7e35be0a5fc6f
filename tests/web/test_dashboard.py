"""The dashboard over real HTTP on both backends: pages, CSRF, roles, actions, bad input.

What a browser does is in tests/browser; here each rule is checked request by request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import rota

from .conftest import READ_TOKEN, Server, error_of, start_server

PAGES = ("/", "/runs", "/schedules", "/batch", "/queues", "/workflows", "/nodes")
NAV = ("Runs", "Schedules", "Batch", "Queues", "Workflows", "Nodes")


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    srv = start_server(tmp_path, database_url, read_token=READ_TOKEN)
    yield srv
    srv.stop()


def csrf_of(page: httpx.Response) -> str:
    """The CSRF secret a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def failed_runs(server: Server, local_app: rota.App, n: int) -> list[int]:
    ids = [server.client.post("/api/jobs/boom/runs", json={}).json()["id"] for _ in range(n)]
    local_app.drain()
    return ids


def test_every_page_answers_and_links_to_the_others(server: Server, local_app: rota.App) -> None:
    [failed] = failed_runs(server, local_app, 1)
    local_app.add_schedule("nightly", "add", cron="0 3 * * *", kwargs={"a": 1})
    for path in (*PAGES, f"/runs/{failed}", "/runs?state=failed&job=boom&queue=mail"):
        page = server.client.get(path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for name in NAV:
            assert f'href="/{name.lower()}"' in page.text and f">{name}</a>" in page.text, path
    run_page = server.client.get(f"/runs/{failed}").text
    assert "ValueError" in run_page and "Traceback (most recent call last)" in run_page
    assert 'role="progressbar"' in run_page
    assert re.search(r"at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<", run_page), run_page
    assert "nightly" in server.client.get("/schedules").text
    assert (
        server.client.get("/static/rota.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )


def test_actions_need_the_csrf_token_of_the_page(server: Server, local_app: rota.App) -> None:
    [run] = failed_runs(server, local_app, 1)
    client = server.client
    refused = [
        client.post(f"/runs/{run}/retry"),  # no token at all, bearer header or not
        client.post(f"/runs/{run}/retry", data={"csrf": "x" * 43}),  # not this browser's
    ]
    secret = csrf_of(client.get(f"/runs/{run}"))
    with httpx.Client(base_url=server.url, headers=client.headers) as other_browser:
        refused.append(other_browser.post(f"/runs/{run}/retry", data={"csrf": secret}))
    for response in refused:
        assert response.status_code == 403, response.text
        assert "CSRF" in response.text
    assert local_app.runs.get(run).state.value == "failed"  # nothing was done

    done = client.post(f"/runs/{run}/retry", data={"csrf": secret})
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{run}?done=retried"
    assert local_app.runs.get(run).state.value in ("queued", "running", "failed")
    assert local_app.runs.get(run).attempt in (0, 1)
    assert "action role=admin action=retry_run target=run:" in server.log()


def test_pause_and_resume_a_queue_with_the_csrf_token(server: Server, local_app: rota.App) -> None:
    client = server.client
    client.post("/api/jobs/add/runs", json={"args": {"a": 1}, "queue": "bulk"})
    page = client.get("/queues")
    assert page.status_code == 200
    assert 'data-live="queues"' in page.text
    assert 'action="/queues/bulk/pause"' in page.text and ">Pause</button>" in page.text
    for header in ("Queue", "State", "Concurrency", "Rate limit", "Queued", "Running",
                   "Oldest waiting"):  # fmt: skip
        assert f'<th scope="col">{header}</th>' in page.text
    assert 'action="/queues/mail/pause"' in page.text  # named by a job, no run yet

    refused = client.post("/queues/bulk/pause", data={"csrf": "x" * 43})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert not local_app.queues.get("bulk").paused

    done = client.post("/queues/bulk/pause", data={"csrf": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == "/queues?done=queue_paused"
    assert local_app.queues.get("bulk").paused
    overview = client.get("/").text  # the overview's table by queue says so too
    assert '<td data-label="Queue" class="name">bulk <span class="state state-paused">' in overview
    assert '<td data-label="Queue" class="name">mail <span' not in overview
    shown = client.get(done.headers["location"]).text
    assert "Queue paused" in shown and 'action="/queues/bulk/resume"' in shown
    assert ">Resume</button>" in shown
    assert "action role=admin action=pause_queue target=queue:'bulk'" in server.log()

    done = client.post("/queues/bulk/resume", data={"csrf": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == "/queues?done=queue_resumed"
    assert not local_app.queues.get("bulk").paused
    local_app.queues.set("bulk", concurrency=3, rate_limit=(10, 60))
    row = client.get("/queues").text
    assert "10 per 60 s" in row and '<td data-label="Concurrency">3</td>' in row
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=reader) as read_only:
        secret = csrf_of(read_only.get("/queues"))
        assert read_only.post("/queues/bulk/pause", data={"csrf": secret}).status_code == 403
    assert not local_app.queues.get("bulk").paused


def test_retry_all_retries_the_filter_and_says_how_many(
    server: Server, local_app: rota.App
) -> None:
    failed_runs(server, local_app, 3)
    server.client.post("/api/jobs/add/runs", json={"args": {"a": "x"}})  # refused: not failed
    page = server.client.get("/runs?state=failed&job=boom")
    assert ">Retry all</button>" in page.text and "data-confirm=" in page.text
    done = server.client.post(
        "/runs/retry", data={"csrf": csrf_of(page), "state": "failed", "job": "boom"}
    )
    assert done.status_code == 303
    assert "done=retried_all" in done.headers["location"] and "n=3" in done.headers["location"]
    shown = server.client.get(done.headers["location"]).text
    assert "Retried 3 runs." in shown
    assert ">Retry all</button>" not in server.client.get("/runs?state=queued").text


def test_the_read_only_token_reads_everything_and_acts_on_nothing(
    server: Server, local_app: rota.App
) -> None:
    [run] = failed_runs(server, local_app, 1)
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=reader) as client:
        for path in (*PAGES, f"/runs/{run}", "/api/runs", f"/api/runs/{run}", "/metrics"):
            assert client.get(path).status_code == 200, path
        page = client.get(f"/runs/{run}")
        assert "Read-only" in page.text
        refused = client.post(f"/runs/{run}/retry", data={"csrf": csrf_of(page)})
        assert refused.status_code == 403 and "read-only" in refused.text
        acts = [("POST", f"/api/runs/{run}/retry"), ("DELETE", f"/api/runs/{run}"),
                ("POST", "/api/jobs/add/runs"), ("POST", "/api/runs/retry")]  # fmt: skip
        for method, path in acts:
            error = error_of(client.request(method, path, json={"state": "failed"}), 403)
            assert error["code"] == "forbidden", (method, path)
    with httpx.Client(base_url=server.url) as browser:  # logged in with the read-only token
        login = browser.post("/login", data={"token": READ_TOKEN, "next": f"/runs/{run}"})
        assert login.status_code == 303
        page = browser.get(f"/runs/{run}")
        assert page.status_code == 200 and "Read-only" in page.text
        refused = browser.post(f"/runs/{run}/retry", data={"csrf": csrf_of(page)})
        assert refused.status_code == 403
        assert browser.post("/logout").status_code == 303
        assert browser.get("/runs").status_code == 401  # logged out: the login form again
    assert local_app.runs.get(run).state.value == "failed"
    assert local_app.runs.get(run).attempt == 1


def test_bad_input_gets_a_page_saying_why(server: Server, local_app: rota.App) -> None:
    [run] = failed_runs(server, local_app, 1)
    client = server.client
    for path, status in [
        ("/runs?state=bogus", 400),
        ("/runs?before=x", 400),
        ("/runs/abc", 404),
        ("/runs/999999", 404),
        ("/runs/99999999999999999999999", 404),
        ("/batch/123456", 404),
        ("/workflows/1", 404),
    ]:
        response = client.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("text/html"), path
        assert 'role="alert"' in response.text
    secret = csrf_of(client.get(f"/runs/{run}"))
    for path in ("/runs/999999/retry", "/runs/1/explode", "/schedules/nope/pause",
                 "/batch/999/restart"):  # fmt: skip
        response = client.post(path, data={"csrf": secret})
        assert response.status_code == 404, (path, response.text)
    bad_state = client.post("/runs/retry", data={"csrf": secret, "state": "succeeded"})
    assert bad_state.status_code == 422
    long = client.get("/runs", params={"search": "x" * 5000, "job": "j" * 5000})
    assert long.status_code == 200
    assert server.healthy() and "Traceback" not in server.log()


def test_a_large_argument_is_shown_in_part(server: Server, local_app: rota.App) -> None:
    message = "x" * 100 + "y" * 200_000 + "END-OF-MESSAGE"
    run = server.client.post("/api/jobs/boom/runs", json={"args": {"message": message}}).json()
    page = server.client.get(f"/runs/{run['id']}")
    assert page.status_code == 200
    assert "x" * 100 in page.text and "END-OF-MESSAGE" not in page.text
    assert "more characters not shown here" in page.text
    assert len(page.content) < 100_000  # sent again at every live refresh
    whole = server.client.get(f"/api/runs/{run['id']}").json()
    assert whole["args"]["message"] == message
