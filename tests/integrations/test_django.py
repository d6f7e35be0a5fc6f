"""Django: the example project's real server runs its jobs; enqueues follow Django's transaction.

Django and rota share one database (SQLite file, or the test PostgreSQL through psycopg 3): the
example reads ``DATABASE_URL`` for both. Servers are subprocesses, killed at teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import rota
from tests.integrations.servers import assert_one_run_per_fire_time, live_nodes
from tests.support import Process, free_port, spawn, wait_until

pytest.importorskip("django")

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django_project"


def project_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    env.pop("ROTA_DJANGO_START", None)
    env.pop("ROTA_APP", None)
    return env


class Server(Process):
    def __init__(
        self,
        argv: list[str],
        database_url: str,
        log: Path,
        port: int,
        env: dict[str, str] | None = None,
    ) -> None:
        environ = project_env(database_url) | (env or {})
        super().__init__(log.stem, spawn(argv, log, cwd=PROJECT, env=environ, group=True), log)
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            try:
                httpx.get(self.url + "/", timeout=1.0)
            except httpx.TransportError:
                return False
            return True

        self.wait_for(up, timeout, "the Django server to answer")

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10.0)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0, *, group: bool = True) -> int:
        """SIGTERM the server's process group; the exit code (killed, a failure, if it lingers)."""
        return super().stop(sig, timeout, group=group)


@pytest.fixture
def rota_app(database_url: str) -> Iterator[rota.App]:
    """The test's view of the shared database: reads runs, never runs a worker."""
    app = rota.App(database=database_url)
    app.store  # noqa: B018 - create the schema before the server starts
    yield app
    app.close()


@pytest.fixture
def start_server(
    database_url: str, tmp_path: Path, rota_app: rota.App
) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(kind: str, env: dict[str, str] | None = None) -> Server:
        port = free_port()
        if kind == "runserver":
            argv = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        else:
            argv = [
                sys.executable, "-m", "gunicorn", "shop.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--graceful-timeout", "10", "--no-control-socket",
            ]  # fmt: skip
        log = tmp_path / f"{kind}-{len(servers)}.log"
        server = Server(argv, database_url, log, port, env)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        if server.alive():
            server.stop()


def runs_for(app: rota.App, order_id: int) -> list[rota.Run]:
    return [r for r in app.runs.list(limit=1000) if r.args.get("order_id") == order_id]


def wait_succeeded(app: rota.App, run_id: int, server: Server) -> rota.Run:
    def done() -> rota.Run | None:
        run = app.runs.get(run_id)
        return run if run.state in ("succeeded", "failed") else None

    try:
        run = wait_until(done, 30, f"run {run_id} to finish")
    except AssertionError:
        raise AssertionError(f"run {run_id} did not finish; server log:\n{server.log()}") from None
    assert run.state == "succeeded", run
    return run


@pytest.mark.parametrize("kind", ["runserver", "gunicorn"])
def test_a_request_enqueues_in_the_transaction_and_the_server_runs_it(
    start_server: Callable[[str], Server], rota_app: rota.App, kind: str
) -> None:
    server = start_server(kind)
    response = server.post("/orders/41/")
    assert response.status_code == 201, response.text
    run = wait_succeeded(rota_app, response.json()["run_id"], server)
    assert run.result == "receipt for order 41 sent"
    assert run.node_id is not None  # run by the server's own worker: no separate worker exists
    # SIGTERM stops the server, and rota's services with it, gracefully (once per process).
    assert server.stop() == 0, server.log()
    processes = 1 if kind == "runserver" else 2
    assert server.log().count("rota services started") == processes, server.log()
    assert server.log().count("rota services stopped") == processes, server.log()


def test_enqueue_on_commit_runs_after_the_commit(
    start_server: Callable[[str], Server], rota_app: rota.App
) -> None:
    server = start_server("runserver")
    assert server.post("/orders/42/on-commit/").status_code == 202
    run = wait_until(lambda: runs_for(rota_app, 42), 30, "the on-commit run")[0]
    assert wait_succeeded(rota_app, run.id, server).result == "receipt for order 42 sent"


def test_a_view_that_raises_after_enqueue_leaves_no_run(
    start_server: Callable[[str], Server], rota_app: rota.App
) -> None:
    server = start_server("runserver")
    response = server.post("/orders/43/broken/")
    assert response.status_code == 409, response.text
    assert response.json()["rolled_back_run_id"] is not None  # it was inserted, then rolled back
    # A later order goes through and runs: by then the rolled-back one would have run too.
    ok = server.post("/orders/44/")
    wait_succeeded(rota_app, ok.json()["run_id"], server)
    assert runs_for(rota_app, 43) == []
    assert [r.state for r in runs_for(rota_app, 44)] == ["succeeded"]


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=project_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_rota_forwards_to_the_cli_and_starts_no_services(
    database_url: str, rota_app: rota.App
) -> None:
    @rota_app.job
    def send_receipt(order_id: int) -> str:  # the same job as the example's: launch it here
        raise AssertionError("never runs in the test process")

    handle = send_receipt.enqueue(order_id=45)
    proc = manage(database_url, "rota", "runs", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert [(r["id"], r["job"], r["state"]) for r in listed] == [
        (handle.id, "send_receipt", "queued")
    ]
    assert "rota services started" not in proc.stderr
    # Other management commands leave the services off as well: the run stays queued.
    check = manage(database_url, "check")
    assert check.returncode == 0, check.stderr
    assert "rota services started" not in check.stderr
    assert rota_app.runs.get(handle.id).state == "queued"


def test_manage_py_rota_launch_creates_a_run(database_url: str, rota_app: rota.App) -> None:
    launched = manage(database_url, "rota", "launch", "send_receipt", "--arg", "order_id=46")
    assert launched.returncode == 0, launched.stderr
    (run,) = runs_for(rota_app, 46)
    assert run.state == "queued"


def test_two_gunicorn_workers_fire_each_schedule_time_once(
    start_server: Callable[..., Server], database_url: str
) -> None:
    server = start_server("gunicorn", env={"TICK_SECONDS": "1"})
    wait_until(lambda: live_nodes(database_url) >= 2, 30, "both workers' rota nodes")
    assert_one_run_per_fire_time(database_url, at_least=5)
    assert server.stop() == 0, server.log()
