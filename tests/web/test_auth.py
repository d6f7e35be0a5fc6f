"""Auth rules over HTTP: a bearer token on every path but /api/health; loopback-only without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import TOKEN, Server, error_of
from .webapp import SOURCE

PROTECTED = [
    ("GET", "/api/jobs"),
    ("POST", "/api/jobs/add/runs"),
    ("GET", "/api/runs"),
    ("GET", "/api/runs/1"),
    ("POST", "/api/runs/1/retry"),
    ("POST", "/api/runs/1/cancel"),
    ("DELETE", "/api/runs/1"),
    ("GET", "/api/schedules"),
    ("POST", "/api/schedules/x/pause"),
    ("POST", "/api/schedules/x/resume"),
    ("POST", "/api/schedules/x/trigger"),
    ("GET", "/api/batch/executions"),
    ("GET", "/api/batch/executions/1"),
    ("POST", "/api/batch/executions/1/restart"),
    ("POST", "/api/batch/executions/1/stop"),
    ("POST", "/api/batch/executions/1/abandon"),
    ("GET", "/api/nodes"),
    ("GET", "/api/queues"),
    ("POST", "/api/queues/x/pause"),
    ("POST", "/api/queues/x/resume"),
    ("PATCH", "/api/queues/x"),
    ("GET", "/api/workflows"),
    ("GET", "/api/workflows/1"),
    ("POST", "/api/workflows/1/retry"),
    ("POST", "/api/workflows/1/cancel"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs/assets/swagger-ui.css"),  # /api/docs itself: a login form (test_docs)
    ("GET", "/api/unknown"),
    ("GET", "/metrics"),
    ("POST", "/runs/1/retry"),  # a dashboard action: no cookie, no token, no CSRF
]


def test_every_path_but_health_needs_the_token(server: Server) -> None:
    bad_headers = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer  x"},
    ]
    with httpx.Client(base_url=server.url) as anonymous:
        for method, path in PROTECTED:
            for headers in bad_headers:
                response = anonymous.request(method, path, headers=headers, json={"args": {}})
                error = error_of(response, 401)
                assert error["code"] == "unauthorized", (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
        for page in ("/", "/runs", "/runs/1", "/schedules", "/nodes", "/unknown"):
            response = anonymous.get(page)  # a dashboard page: the login form, as a 401
            assert response.status_code == 401, page
            assert 'name="token"' in response.text, page
        assert anonymous.get("/api/health").json() == {"status": "ok"}
        assert (
            anonymous.get("/api/health", headers={"Authorization": "Bearer x"}).status_code == 200
        )
        # nothing was launched by the refused requests
        runs = anonymous.get("/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert runs.json()["items"] == []


def test_the_token_opens_every_path(server: Server) -> None:
    for method, path in PROTECTED:
        response = server.client.request(method, path, json={"args": {"a": 1}})
        assert response.status_code != 401, (method, path, response.text)
    lower = server.client.get("/api/jobs", headers={"Authorization": f"bearer {TOKEN}"})
    assert lower.status_code == 200


def _serve(tmp_path: Path, host: str, token: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "exposed_app.py").write_text(SOURCE)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from exposed_app import app\n"
        "from rota.web.server import serve\n"
        "app.use_database(sys.argv[2])\n"
        "serve(app, sys.argv[3], 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ROTA_API_TOKEN"}
    if token:
        env["ROTA_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), f"sqlite:///{tmp_path}/x.db", host],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.org"])
def test_refuses_a_non_loopback_address_without_token(tmp_path: Path, host: str) -> None:
    result = _serve(tmp_path, host, token=None)
    assert result.returncode != 0
    assert "refusing to serve the API on" in result.stderr
    assert "ROTA_API_TOKEN" in result.stderr
    assert "Uvicorn running" not in result.stderr + result.stdout


def test_loopback_check() -> None:
    from rota.errors import ConfigError
    from rota.web.auth import Tokens, resolve_tokens
    from rota.web.server import check_exposure, is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.org", ""))
    check_exposure("0.0.0.0", Tokens("a-token"))
    check_exposure("127.0.0.1", Tokens())
    with pytest.raises(ConfigError, match="without a token"):
        check_exposure("0.0.0.0", Tokens())
    with pytest.raises(ConfigError, match="needs a token too"):
        resolve_tokens("", "read-only")
    with pytest.raises(ConfigError, match="must differ"):
        resolve_tokens("same", "same")


def test_import_rota_loads_no_web_framework() -> None:
    code = (
        "import sys, rota\n"
        "app = rota.App(database='sqlite:///unused.db')\n"
        "loaded = [m for m in ('fastapi', 'starlette', 'uvicorn', 'prometheus_client',"
        " 'rota.web') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "app.asgi(token='t')\n"
        "assert 'fastapi' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
