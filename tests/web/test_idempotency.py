"""Idempotency-Key over HTTP: a repeat returns the same run; other arguments are a 409."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from .conftest import Server, error_of


def post(api: httpx.Client, key: str, body: dict[str, object], job: str = "add") -> httpx.Response:
    return api.post(f"/api/jobs/{job}/runs", json=body, headers={"Idempotency-Key": key})


def test_same_key_same_run(api: httpx.Client) -> None:
    first = post(api, "order-1", {"args": {"a": 1}, "delay": 60})
    assert first.status_code == 201
    again = post(api, "order-1", {"args": {"a": 1}, "delay": 60})
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    other = post(api, "order-2", {"args": {"a": 1}, "delay": 60})
    assert other.json()["id"] != first.json()["id"]
    assert len(api.get("/api/runs").json()["items"]) == 2


def test_same_key_after_the_run_ended(api: httpx.Client) -> None:
    first = post(api, "k", {"args": {"a": 1}}).json()
    api.post(f"/api/runs/{first['id']}/cancel")
    again = post(api, "k", {"args": {"a": 1}})
    assert again.json()["id"] == first["id"] and again.json()["state"] == "cancelled"


def test_key_reused_differently_is_a_conflict(api: httpx.Client) -> None:
    assert post(api, "k", {"args": {"a": 1}}).status_code == 201
    for body, job in (
        ({"args": {"a": 2}}, "add"),
        ({"args": {"a": 1}, "priority": 3}, "add"),
        ({"args": {"a": 1}, "queue": "other"}, "add"),
        ({"args": {}}, "nothing"),
    ):
        error = error_of(post(api, "k", body, job), 409)
        assert error["code"] == "idempotency_conflict" and "'k'" in error["message"]
    assert len(api.get("/api/runs").json()["items"]) == 1


def test_bad_keys_are_refused(api: httpx.Client) -> None:
    error_of(post(api, "x" * 256, {"args": {"a": 1}}), 422)
    error_of(post(api, "", {"args": {"a": 1}}), 422)
    assert api.get("/api/runs").json()["items"] == []


def test_concurrent_repeats_create_one_run(server: Server) -> None:
    def one(_: int) -> int:
        with httpx.Client(base_url=server.url, headers=server.client.headers) as c:
            response = post(c, "race", {"args": {"a": 1}})
            assert response.status_code == 201, response.text
            run_id: int = response.json()["id"]
            return run_id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(one, range(16)))
    assert len(ids) == 1
    assert len(server.client.get("/api/runs").json()["items"]) == 1
