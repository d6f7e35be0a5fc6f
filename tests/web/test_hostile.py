"""Hostile input: a 4xx with the error envelope every time, and the server healthy after."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import Server, error_of

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def hostile(server: Server) -> Server:
    yield server
    assert server.healthy(), server.log()
    assert "Traceback" not in server.log(), server.log()


def test_huge_bodies(hostile: Server) -> None:
    api = hostile.client
    five_mb = b'{"args": {"a": "' + b"x" * (5 * 1024 * 1024) + b'"}}'
    error = error_of(api.post("/api/jobs/add/runs", content=five_mb, headers=JSON), 413)
    assert error["code"] == "payload_too_large"

    def chunks() -> object:  # no Content-Length: the limit counts what arrives
        yield b'{"args": {"a": "'
        for _ in range(80):
            yield b"y" * 65536
        yield b'"}}'

    chunked = api.post("/api/jobs/add/runs", content=chunks(), headers=JSON)  # type: ignore[arg-type]
    assert error_of(chunked, 413)["code"] == "payload_too_large"
    big_args = {"args": {"a": 1, "b": 2}, "queue": "q" * 300}
    error_of(api.post("/api/jobs/add/runs", json=big_args), 422)
    assert api.get("/api/runs").json()["items"] == []


def test_deep_nesting(hostile: Server) -> None:
    api = hostile.client
    for depth in (100, 10_000, 500_000):
        body = b'{"args": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
        error = error_of(api.post("/api/jobs/add/runs", content=body, headers=JSON), 400)
        assert error["code"] == "too_deep"
    unclosed = b"[" * 200_000
    error_of(api.post("/api/jobs/add/runs", content=unclosed, headers=JSON), 400)
    nested_in_string = b'{"args": {"a": 1, "b": 2}, "queue": "' + b"[" * 1000 + b'"}'
    error_of(api.post("/api/jobs/add/runs", content=nested_in_string, headers=JSON), 422)
    ok = b'{"args": {"a": 1, "b": 2}}'
    assert api.post("/api/jobs/add/runs", content=ok, headers=JSON).status_code == 201


def test_invalid_utf8_and_not_json(hostile: Server) -> None:
    api = hostile.client
    for body in (b'{"args": {"a": "\xff\xfe"}}', b"\xc3\x28", b'{"args": {"a": "\xed\xa0\x80"}}'):
        error = error_of(api.post("/api/jobs/add/runs", content=body, headers=JSON), 400)
        assert error["code"] == "invalid_utf8"
    for body in (b'{"args":', b"not json", b'{"args": {"a": 1}} trailing', b"\x00"):
        error = error_of(api.post("/api/jobs/add/runs", content=body, headers=JSON), 400)
        assert error["code"] in ("invalid_json", "bad_request"), error
    text = api.post("/api/jobs/add/runs", content=b"a=1", headers={"Content-Type": "text/plain"})
    assert text.status_code in (400, 415, 422)
    error_of(text, text.status_code)


BAD_BODIES: list[object] = [
    [],
    "args",
    42,
    {"args": []},
    {"args": "a=1"},
    {"args": {"a": 1}, "delay": -1},
    {"args": {"a": 1}, "delay": 1e300},
    {"args": {"a": 1}, "delay": "soon"},
    {"args": {"a": 1}, "priority": 2**31},
    {"args": {"a": 1}, "priority": -(2**80)},
    {"args": {"a": 1}, "priority": 1.5},
    {"args": {"a": 1}, "max_attempts": 0},
    {"args": {"a": 1}, "run_at": "yesterday"},
    {"args": {"a": 1}, "run_at": "99999-01-01T00:00:00"},
    {"args": {"a": 1}, "run_at": "9999-12-31T23:59:59-05:00"},
    {"args": {"a": 1}, "run_at": "0001-01-01T00:00:00+05:00"},
    {"args": {"a": 1}, "run_at": "2030-01-01T00:00:00+25:00"},
    {"args": {"a": 1}, "queue": ""},
    {"args": {"a": 1}, "queue": 5},
    {"args": {"a": 1}, "unique_key": ""},
    b'{"args": {"a": ' + b"9" * 5000 + b"}}",
    b'{"args": {"a": 1e999}}',
    b'{"args": {"a": NaN}}',
    b'{"args": {"a": 1, "a": "x"}}',
    {"args": {"a": True}},
    {"args": {"a": 1.5}},
    {"args": {"a": None}},
    {"args": {"a": 1, "b": "\u0000"}},
    {"args": {"a": 1}, "queue": "nul\u0000"},
    b'{"args": {"a": 1}, "unique_key": "\\ud800"}',
    b'{"args": {"a": 1, "b": "\\udfff"}}',
]


def test_wrong_types_and_absurd_numbers(hostile: Server) -> None:
    for body in BAD_BODIES:
        if isinstance(body, bytes):  # JSON no encoder would write
            response = hostile.client.post("/api/jobs/add/runs", content=body, headers=JSON)
        else:
            response = hostile.client.post("/api/jobs/add/runs", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
        error_of(response, response.status_code)
    assert hostile.client.get("/api/runs").json()["items"] == []


def test_absurd_values_elsewhere(hostile: Server) -> None:
    api = hostile.client
    for path in (
        "/api/runs/0",
        "/api/runs/-1",
        "/api/runs/99999999999999999999999",
        "/api/runs/1e3",
        "/api/runs?limit=-5",
        "/api/runs?limit=100000000000000000000",
        "/api/runs?limit=abc",
        "/api/runs?cursor=-1",
        "/api/runs?cursor=99999999999999999999999",
        "/api/runs?state=",
        "/api/runs?state=failed,",
        "/api/runs?job=",
        "/api/runs?queue=" + "q" * 300,
        "/api/runs?job=%00",
        "/api/runs?unknown=1",
        "/api/runs?state=failed&states=failed",
        "/api/schedules/%00/pause",
        "/api/jobs/%00/runs",
    ):
        method = "POST" if path.endswith(("pause", "runs")) and "?" not in path else "GET"
        response = api.request(method, path)
        assert 400 <= response.status_code < 500, (path, response.text)
        error_of(response, response.status_code)
    huge = api.get("/api/runs?cursor=9999999999999999999")  # past the last id: an empty page
    assert huge.status_code == 200 and huge.json()["items"] == []
    long_name = api.post("/api/schedules/" + "n" * 5000 + "/trigger")
    assert 400 <= long_name.status_code < 500
    bad_key = api.post(
        "/api/jobs/add/runs", json={"args": {"a": 1}}, headers={"Idempotency-Key": "k" * 10_000}
    )
    error_of(bad_key, 422)


def test_malformed_http(hostile: Server) -> None:
    """Bytes no HTTP client would send: the server answers 400 or closes, and stays up."""
    host, port = urlsplit(hostile.url).hostname, urlsplit(hostile.url).port
    assert host and port
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"POST /api/jobs/add/runs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /api/jobs/add/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}",
        b"GET /api/health HTTP/1.1\r\nHost: x\r\nX: \x00\r\n\r\n",
    ):
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            reply = s.recv(65536)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 4"), reply[:200]
    assert httpx.get(f"{hostile.url}/api/health").status_code == 200
