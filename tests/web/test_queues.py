"""The queue endpoints over real HTTP on both backends: list, pause, resume, PATCH limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rota

from .conftest import READ_TOKEN, Server, error_of, start_server


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    srv = start_server(tmp_path, database_url, read_token=READ_TOKEN)
    yield srv
    srv.stop()


def launch(api: httpx.Client, queue: str) -> int:
    response = api.post("/api/jobs/add/runs", json={"args": {"a": 1}, "queue": queue})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_list_pause_resume_and_patch(api: httpx.Client, local_app: rota.App) -> None:
    assert api.get("/api/queues").json() == {"items": [], "next_cursor": None}
    launch(api, "mail")
    launch(api, "mail")
    [mail] = api.get("/api/queues").json()["items"]
    assert {k: mail[k] for k in ("name", "paused", "concurrency", "rate_limit", "queued")} == {
        "name": "mail",
        "paused": False,
        "concurrency": None,
        "rate_limit": None,
        "queued": 2,
    }
    assert mail["running"] == 0 and mail["oldest_queued_at"]

    paused = api.post("/api/queues/mail/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert local_app.queues.get("mail").paused  # stored, for every node

    patched = api.patch("/api/queues/mail", json={"concurrency": 4})
    assert patched.status_code == 200, patched.text
    assert patched.json()["concurrency"] == 4 and patched.json()["paused"] is True
    rate = api.patch("/api/queues/mail", json={"rate_limit": {"limit": 10, "period": 60}})
    assert rate.json()["rate_limit"] == {"limit": 10, "period": 60.0}
    assert rate.json()["concurrency"] == 4  # left out: unchanged
    cleared = api.patch("/api/queues/mail", json={"concurrency": None, "rate_limit": None})
    assert (cleared.json()["concurrency"], cleared.json()["rate_limit"]) == (None, None)
    same = api.patch("/api/queues/mail", json={})
    assert same.status_code == 200 and same.json()["paused"] is True

    resumed = api.post("/api/queues/mail/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert local_app.drain(queues=["mail"]) == {"succeeded": 2}


def test_a_queue_not_used_yet_can_be_paused_and_is_listed(api: httpx.Client) -> None:
    paused = api.post("/api/queues/later/pause").json()
    assert paused["paused"] is True and paused["queued"] == 0
    assert [q["name"] for q in api.get("/api/queues").json()["items"]] == ["later"]


def test_list_pages_by_name(api: httpx.Client) -> None:
    for name in ("a", "b", "c", "d", "e"):
        api.post(f"/api/queues/{name}/pause")
    first = api.get("/api/queues", params={"limit": 2}).json()
    assert [q["name"] for q in first["items"]] == ["a", "b"] and first["next_cursor"] == "b"
    second = api.get("/api/queues", params={"limit": 2, "cursor": "b"}).json()
    assert [q["name"] for q in second["items"]] == ["c", "d"]
    last = api.get("/api/queues", params={"limit": 2, "cursor": "d"}).json()
    assert [q["name"] for q in last["items"]] == ["e"] and last["next_cursor"] is None


BAD_PATCHES: list[Any] = [
    {"concurrency": 0},
    {"concurrency": -1},
    {"concurrency": 1.5},
    {"concurrency": True},
    {"concurrency": "3"},
    {"rate_limit": {"limit": True, "period": 1}},
    {"rate_limit": {"limit": 2, "period": "5"}},
    {"concurrency": 10**9},
    {"rate_limit": {"limit": 0, "period": 1}},
    {"rate_limit": {"limit": 5, "period": 0}},
    {"rate_limit": {"limit": 5, "period": -2}},
    {"rate_limit": {"limit": 5, "period": 1e12}},
    {"rate_limit": {"limit": 5}},
    {"rate_limit": {"limit": 5, "period": 1, "burst": 2}},
    {"rate_limit": [5, 1]},
    {"paused": True},
    [],
]


def test_bad_patches_are_422_and_change_nothing(api: httpx.Client) -> None:
    for body in BAD_PATCHES:
        error = error_of(api.patch("/api/queues/mail", json=body), 422)
        assert error["code"] == "validation_error", body
    assert api.get("/api/queues").json()["items"] == []


def test_nan_period_and_bad_names_are_refused(api: httpx.Client) -> None:
    nan = api.patch(
        "/api/queues/mail",
        content=b'{"rate_limit": {"limit": 5, "period": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert nan.status_code == 422, nan.text
    long = api.post("/api/queues/" + "q" * 201 + "/pause")
    assert long.status_code in (404, 422), long.text
    nul = api.post("/api/queues/a%00b/pause")
    assert nul.status_code in (400, 422), nul.text
    assert api.get("/api/queues").json()["items"] == []
    assert error_of(api.get("/api/queues", params={"limit": 0}), 422)
    assert error_of(api.get("/api/queues", params={"colour": "red"}), 400)


def test_the_read_only_token_lists_but_cannot_act(server: Server) -> None:
    reader = {"Authorization": f"Bearer {READ_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=reader) as client:
        assert client.get("/api/queues").status_code == 200
        for method, path, body in [
            ("POST", "/api/queues/mail/pause", None),
            ("POST", "/api/queues/mail/resume", None),
            ("PATCH", "/api/queues/mail", {"concurrency": 2}),
        ]:
            error = error_of(client.request(method, path, json=body), 403)
            assert error["code"] == "forbidden", (method, path)
    assert server.client.get("/api/queues").json()["items"] == []


def test_actions_are_logged_with_role_and_target(server: Server) -> None:
    server.client.post("/api/queues/mail/pause")
    server.client.patch("/api/queues/mail", json={"concurrency": 2})
    log = server.log()
    assert "action role=admin action=pause_queue target=queue:'mail'" in log
    assert "action role=admin action=set_queue_limits target=queue:'mail' concurrency=2" in log
