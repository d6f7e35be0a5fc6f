"""Real web servers with rota embedded, as subprocesses, and ways to wait on them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

import rota

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(delay)
        delay = min(0.25, delay * 1.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def post(self, path: str) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10)

    def wait_up(self, path: str, timeout: float = 60) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                return self.get(path).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, timeout, f"the server at {self.url}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Ask the server to stop; its exit code (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"server did not stop on {sig}:\n{self.output()}") from None


@contextlib.contextmanager
def server(
    argv: Sequence[str], port: int, tmp_path: Path, database_url: str, **env: str
) -> Iterator[Server]:
    """Run ``python -m argv...`` in ``tmp_path`` on ``database_url``; killed at the end."""
    environ = {k: v for k, v in os.environ.items() if k != "ROTA_API_TOKEN"}
    environ.update(env, ROTA_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *argv],
            cwd=tmp_path,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        yield srv
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def tick_fire_times(database_url: str) -> list[tuple[str | None, object]]:
    """(schedule, run_at) of every run of the ``tick`` job, through the Python API."""
    app = rota.App(database=database_url)
    try:
        return [(r.schedule, r.run_at) for r in app.list_runs(job="tick", limit=1000)]
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
        return sum(1 for n in app.nodes() if n.stopped_at is None)
    finally:
        app.close()
