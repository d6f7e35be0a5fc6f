"""The limits every launcher shares, over real HTTP: 404, 413 or 422 with the error envelope.

The same values as the CLI and the Python API (tests/acceptance/test_inputs.py,
tests/integration/test_inputs.py): ids past 64 bits, page sizes, how far ahead a run may be
due, the size of the arguments and of the body, and bad values quoted short.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import rota
from rota.limits import (
    MAX_AHEAD_SECONDS,
    MAX_ARGS_BYTES,
    MAX_BODY_BYTES,
    MAX_ID,
    MAX_JSON_DEPTH,
    MAX_PAGE,
)

from .conftest import Server, error_of

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def checked(server: Server) -> httpx.Client:
    yield server.client
    assert server.healthy(), server.log()
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/runs/{MAX_ID + 1}"),
        ("POST", f"/api/runs/{MAX_ID + 1}/retry"),
        ("POST", f"/api/runs/{MAX_ID + 1}/cancel"),
        ("DELETE", f"/api/runs/{MAX_ID + 1}"),
        ("GET", f"/api/batch/executions/{MAX_ID + 1}"),
        ("GET", "/api/runs?cursor=99999999999999999999"),
        ("GET", "/api/runs?cursor=0"),
        ("GET", "/api/batch/executions?cursor=99999999999999999999"),
        ("GET", f"/api/runs?limit={MAX_PAGE + 1}"),
        ("GET", "/api/runs?limit=99999999999999999999"),
        ("GET", f"/api/batch/executions?limit={MAX_PAGE + 1}"),
    ],
)
def test_ids_cursors_and_limits_out_of_range(checked: httpx.Client, method: str, path: str) -> None:
    assert error_of(checked.request(method, path), 422)["code"] == "validation_error"


def test_the_largest_id_is_not_found_and_the_largest_page_is_served(
    checked: httpx.Client, local_app: rota.App
) -> None:
    assert error_of(checked.get(f"/api/runs/{MAX_ID}"), 404)["code"] == "run_not_found"
    local_app.get_job("add").enqueue_many([{"a": n} for n in range(3)])
    page = checked.get("/api/runs", params={"limit": MAX_PAGE}).json()
    assert len(page["items"]) == 3 and page["next_cursor"] is None
    assert checked.get("/api/batch/executions", params={"limit": MAX_PAGE}).status_code == 200


def test_a_full_page_of_max_page_items_has_a_next_cursor(
    checked: httpx.Client, local_app: rota.App
) -> None:
    local_app.get_job("add").enqueue_many([{"a": n} for n in range(MAX_PAGE + 1)])
    first = checked.get("/api/runs", params={"limit": MAX_PAGE}).json()
    assert len(first["items"]) == MAX_PAGE and first["next_cursor"] is not None
    rest = checked.get("/api/runs", params={"limit": MAX_PAGE, "cursor": first["next_cursor"]})
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None


def test_delay_and_run_at_share_the_horizon(checked: httpx.Client) -> None:
    launch = "/api/jobs/add/runs"
    ok = checked.post(launch, json={"args": {"a": 1}, "delay": MAX_AHEAD_SECONDS})
    assert ok.status_code == 201, ok.text
    too_late = checked.post(launch, json={"args": {"a": 1}, "delay": MAX_AHEAD_SECONDS + 1})
    assert error_of(too_late, 422)["code"] == "validation_error"
    huge = checked.post(launch, json={"args": {"a": 1}, "delay": 99999999999999})
    error_of(huge, 422)
    soon = (datetime.now(UTC) + timedelta(days=365)).isoformat()
    assert checked.post(launch, json={"args": {"a": 1}, "run_at": soon}).status_code == 201
    for far in ("9999-12-31T00:00:00Z", "2200-01-01T00:00:00+00:00"):
        error = error_of(checked.post(launch, json={"args": {"a": 1}, "run_at": far}), 422)
        assert "run_at must be at most" in error["message"], error


def test_arguments_and_bodies_have_the_shared_limits(checked: httpx.Client) -> None:
    launch = "/api/jobs/block/runs"  # block(path: str): never runs here (no worker)
    over_args = {"args": {"path": "x" * MAX_ARGS_BYTES}}  # under the body cap
    body = json.dumps(over_args).encode()
    assert len(body) <= MAX_BODY_BYTES
    error = error_of(checked.post(launch, content=body, headers=JSON), 422)
    size = MAX_ARGS_BYTES + len('{"path":""}')
    assert (
        f"arguments are {size} bytes as JSON, more than the limit of {MAX_ARGS_BYTES}"
        in error["message"]
    )
    over_body = b'{"args": {"a": "' + b"x" * MAX_BODY_BYTES + b'"}}'
    assert error_of(checked.post(launch, content=over_body, headers=JSON), 413)
    assert checked.get("/api/runs").json()["items"] == []


def test_a_huge_bad_value_is_quoted_short(checked: httpx.Client) -> None:
    huge = "x" * 100_000
    for response in (
        checked.post(f"/api/jobs/{'j' * 1000}/runs", json={"args": {}}),
        checked.post("/api/jobs/add/runs", json={"args": {"a": 1, huge: 1}}),
        checked.post("/api/jobs/add/runs", json={"args": {"a": huge}}),
    ):
        error = error_of(response, response.status_code)
        assert len(response.text) < 2000, response.text[:300]
        assert "characters)" in error["message"], error


def test_arguments_nested_to_the_shared_depth_pass_the_gate(checked: httpx.Client) -> None:
    deep = "[" * MAX_JSON_DEPTH + "1" + "]" * MAX_JSON_DEPTH
    body = '{"args": {"a": ' + deep + "}}"
    answer = error_of(checked.post("/api/jobs/add/runs", content=body, headers=JSON), 422)
    assert answer["code"] != "too_deep" and "expected int" in answer["message"]  # the job's rule
    deeper = '{"args": {"a": [' + deep + "]}}"
    answer = error_of(checked.post("/api/jobs/add/runs", content=deeper, headers=JSON), 400)
    assert answer["code"] == "too_deep"
