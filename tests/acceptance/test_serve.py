"""``rota serve``: the REST API alone, launching through the same path as the CLI."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request
from typing import Any

from tests.acceptance.conftest import Cli
from tests.support import free_port, stop_piped, wait_until


def _call(port: int, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _up(port: int) -> bool:
    try:
        return _call(port, "GET", "/api/health")[0] == 200
    except OSError:
        return False


def test_serve_launches_runs_that_the_cli_sees(cli: Cli) -> None:
    port = free_port()
    proc = cli.start("serve", "--port", str(port), "--token", "s3cret")
    try:
        wait_until(lambda: _up(port), 30, "the API answers")
        assert _call(port, "GET", "/api/runs")[0] == 401
        status, run = _call(
            port, "POST", "/api/jobs/add/runs", {"args": {"a": 2, "b": 3}}, "s3cret"
        )
        assert status == 201, run
        shown = cli.run_json(run["id"])
        assert shown["job"] == "add" and shown["args"] == {"a": 2, "b": 3}
        assert shown["state"] == "queued"
        nodes = cli.ok("nodes", "--json").json()
        assert any(n["roles"] == ["api"] and n["state"] == "alive" for n in nodes)
    finally:
        code, err = stop_piped(proc, signal.SIGTERM, 30)
    assert code == 0, err
    assert "Traceback" not in err


def test_serve_refuses_a_public_address_without_a_token(cli: Cli) -> None:
    result = cli("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert result.code == 2, str(result)
    assert "token" in result.err.lower()
    assert "Traceback" not in result.err
