"""Real web servers with rota embedded, as subprocesses, and ways to wait on them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

import rota
from tests.support import Process, spawn, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Server(Process):
    """A web server with rota embedded, answering at ``url``."""

    def __init__(self, popen: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        super().__init__("the server", popen, log_path, group=True)
        self.url = url

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10)

    def wait_up(self, path: str, timeout: float = 60) -> None:
        def up() -> bool:
            try:
                return self.get(path).status_code == 200
            except httpx.HTTPError:
                return False

        self.wait_for(up, timeout, f"the server at {self.url}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30, *, group: bool = False) -> int:
        """Ask the server to stop; its exit code (killed, and a failure, if it lingers)."""
        return super().stop(sig, timeout, group=group)


@contextlib.contextmanager
def server(
    argv: Sequence[str], port: int, tmp_path: Path, database_url: str, **env: str
) -> Iterator[Server]:
    """Run ``python -m argv...`` in ``tmp_path`` on ``database_url``; killed at the end."""
    environ = {k: v for k, v in os.environ.items() if k != "ROTA_API_TOKEN"}
    environ.update(env, ROTA_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    log = tmp_path / f"server-{port}.log"
    popen = spawn([sys.executable, "-m", *argv], log, cwd=tmp_path, env=environ, group=True)
    srv = Server(popen, f"http://127.0.0.1:{port}", log)
    try:
        yield srv
    finally:
        srv.kill9()


def tick_fire_times(database_url: str) -> list[tuple[str | None, object]]:
    """(schedule, run_at) of every run of the ``tick`` job, through the Python API."""
    app = rota.App(database=database_url)
    try:
        return [(r.schedule, r.run_at) for r in app.runs.list(job="tick", limit=1000)]
    finally:
        app.close()


def assert_one_run_per_fire_time(database_url: str, at_least: int = 5) -> None:
    """Wait for ``at_least`` fire times of the every-second ``tick``; none ran twice."""
    wait_until(
        lambda: len(set(tick_fire_times(database_url))) >= at_least,
        30,
        f"{at_least} fire times of tick",
    )
    fired = tick_fire_times(database_url)
    assert all(schedule == "tick" for schedule, _ in fired)
    assert len(fired) == len(set(fired)), sorted(map(str, fired))


def live_nodes(database_url: str) -> int:
    app = rota.App(database=database_url)
    try:
        return sum(1 for n in app.nodes.list() if n.stopped_at is None)
    finally:
        app.close()
