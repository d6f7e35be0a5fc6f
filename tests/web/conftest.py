"""A real API server per test: uvicorn in a subprocess on a free port, on each backend.

The app file and the server script are written into the test's tmp dir; the server's output
goes to a log file there (shown when the server fails). The test process opens the same app
on the same database to put runs in the states a test needs (``drain``) and to check them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rota
from tests.support import Process, free_port, spawn

from .webapp import RUNNER, SOURCE

TOKEN = "s3cret-token-for-tests"
READ_TOKEN = "read-only-token-for-tests"
TOKEN_ENVS = ("ROTA_API_TOKEN", "ROTA_API_READ_TOKEN")


class Server(Process):
    """A running API server: its address, a client with the token, and its log."""

    def __init__(
        self,
        url: str,
        token: str | None,
        popen: subprocess.Popen[bytes],
        log_path: Path,
        read_token: str | None = None,
    ) -> None:
        super().__init__("the API server", popen, log_path)
        self.url, self.token, self.read_token = url, token, read_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=30)

    def healthy(self) -> bool:
        """The server answers and its process is alive (checked after hostile requests)."""
        if not self.alive():
            return False
        try:
            return httpx.get(f"{self.url}/api/health", timeout=5).json() == {"status": "ok"}
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0, *, group: bool = False) -> int:
        self.client.close()
        return super().stop(sig, timeout, group=group)


def start_server(
    tmp_path: Path,
    database_url: str,
    *,
    token: str | None = TOKEN,
    read_token: str | None = None,
    host: str = "127.0.0.1",
    node: bool = False,
    wait: bool = True,
) -> Server:
    app_file = tmp_path / "webtest_app.py"
    if not app_file.exists():
        app_file.write_text(SOURCE)
    runner = tmp_path / "serve.py"
    runner.write_text(RUNNER)
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if k not in (*TOKEN_ENVS, "ROTA_APP")}
    for name, value in zip(TOKEN_ENVS, (token, read_token), strict=True):
        if value is not None:
            env[name] = value
    popen = spawn(
        [sys.executable, str(runner), str(app_file), database_url, host, str(port),
         "node" if node else "api"],
        log_path,
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", token, popen, log_path, read_token)
    if wait:
        try:
            server.wait_for(server.healthy, 60, "the server to answer")
        except AssertionError:
            server.client.close()
            server.kill9()
            raise
    return server


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    srv = start_server(tmp_path, database_url)
    yield srv
    srv.stop()


@pytest.fixture
def api(server: Server) -> httpx.Client:
    return server.client


@contextlib.contextmanager
def served_app(tmp_path: Path, database_url: str) -> Iterator[rota.App]:
    """The app a server started by ``start_server`` serves, opened in the test process on the
    same database (to put runs in the states a test needs, and to check them)."""
    name = f"webtest_app_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, tmp_path / "webtest_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app: rota.App = module.app
    app.use_database(database_url)
    try:
        yield app
    finally:
        with contextlib.suppress(Exception):
            app.close()


@pytest.fixture
def local_app(server: Server, tmp_path: Path, database_url: str) -> Iterator[rota.App]:
    """The server's app, opened in the test process on the same database."""
    with served_app(tmp_path, database_url) as app:
        yield app


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error envelope of ``response``, checked: that status, a code and a message."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert "Traceback" not in response.text
    return error


ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def assert_docs_offline(client: httpx.Client, prefix: str = "") -> list[str]:
    """The docs page names no other host, and every asset it names is served with its type.

    ``client`` is based at the site's root and has the credentials (bearer token or login
    cookie); ``prefix`` is where the app is mounted. Returns the assets' paths.
    """
    page = client.get(f"{prefix}/api/docs")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text, page.text
    linked = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert linked, page.text
    for url in linked:
        assert url.startswith(f"{prefix}/api/") and not url.startswith("//"), url
        suffix = url[url.rindex(".") :]
        asset = client.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
        assert ASSET_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 1000, url
    assert {u.rsplit(".", 1)[1] for u in linked} == {"js", "css", "png"}
    assert f"url: '{prefix}/api/openapi.json'" in page.text
    assert client.get(f"{prefix}/api/openapi.json").json()["paths"]["/api/runs"]
    return linked
