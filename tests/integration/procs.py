"""Real worker processes for the integration tests: spawn, signal, kill -9, and wait for things.

A worker is ``sys.executable`` running a small script written into the test's tmp dir: it
builds the app of ``jobapp.py`` on the test's database and calls ``app.run_worker``. Its log
(stdout and stderr) goes to a file next to the script, never to a pipe that could fill up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import rota

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

SCRIPT = """\
import logging
import sys

sys.path.insert(0, {root!r})
from tests.integration.jobapp import build_app

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stderr,
    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
)
app = build_app(
    {database!r}, {marks!r}, lease_seconds={lease!r}, shutdown_timeout={shutdown!r}
)
app.run_worker(concurrency={concurrency!r})
logging.getLogger("worker-script").info("run_worker returned")
"""


def wait_until(
    predicate: Callable[[], T], timeout: float, what: str = "condition", interval: float = 0.02
) -> T:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class WorkerProcess:
    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name, self.popen, self.log_path = name, popen, log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def send(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    def kill9(self) -> int:
        """kill -9 and reap; returns the exit status (-9)."""
        if self.alive():
            self.popen.kill()
        return self.popen.wait(10)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} (pid {self.pid}) still running after {timeout:g}s; log:\n"
                + self.log()[-3000:]
            ) from None

    def __repr__(self) -> str:
        return f"<worker {self.name} pid={self.pid} alive={self.alive()}>"


class Procs:
    """Spawns worker processes of one test and kills every one of them at teardown."""

    def __init__(self, workdir: Path, database: str, marks: Path) -> None:
        self.workdir, self.database, self.marks = workdir, database, marks
        self.spawned: list[WorkerProcess] = []

    def spawn(
        self,
        *,
        concurrency: int = 4,
        lease_seconds: float = 2.0,
        shutdown_timeout: float = 10.0,
    ) -> WorkerProcess:
        name = f"worker{len(self.spawned) + 1}"
        script = self.workdir / f"{name}.py"
        script.write_text(
            SCRIPT.format(
                root=str(ROOT),
                database=self.database,
                marks=str(self.marks),
                lease=float(lease_seconds),
                shutdown=float(shutdown_timeout),
                concurrency=int(concurrency),
            )
        )
        log_path = self.workdir / f"{name}.log"
        with log_path.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, str(script)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        proc = WorkerProcess(name, popen, log_path)
        self.spawned.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid})\n{p.log()[-4000:]}" for p in self.spawned)

    def cleanup(self) -> None:
        for p in self.spawned:
            if p.alive():
                p.popen.kill()  # SIGKILL also ends a SIGSTOPped process
            with contextlib.suppress(subprocess.TimeoutExpired):  # the kernel reaps it
                p.popen.wait(10)


class Marks:
    """Reads the files jobs leave in the marks dir (see jobapp)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def pid(self, job: str, run_id: int, attempt: int, what: str = "start") -> int | None:
        """The pid that wrote this mark, or None while it does not exist."""
        try:
            text = (self.path / f"{job}-{run_id}-{attempt}.{what}").read_text()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def release(self) -> None:
        (self.path / "release").write_text("go")

    def effects(self) -> list[tuple[str, int, int, int]]:
        """(kind, run id, attempt, pid) per complete line of effects.log."""
        try:
            text = (self.path / "effects.log").read_text()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines(keepends=True):
            if line.endswith("\n"):
                kind, run, attempt, pid = line.split()
                out.append((kind, int(run), int(attempt), int(pid)))
        return out


def read_run(app: rota.App, run_id: int) -> rota.Run | None:
    """The run as stored, or None while the database is unavailable to the test itself."""
    try:
        return app.get_run(run_id)
    except rota.StorageUnavailable:
        return None


def wait_terminal(app: rota.App, run_id: int, timeout: float) -> rota.Run:
    """Wait until the run is succeeded, failed or cancelled; returns it."""

    def ended() -> rota.Run | None:
        run = read_run(app, run_id)
        return run if run is not None and run.state.terminal else None

    return wait_until(ended, timeout, f"run {run_id} to end")


def wait_started(proc: WorkerProcess, timeout: float = 20.0) -> None:
    """Wait until the worker process logged that its node started."""

    def started() -> bool:
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited {proc.popen.returncode}:\n{proc.log()}")
        return " started (database " in proc.log()

    wait_until(started, timeout, f"{proc.name} to start")
