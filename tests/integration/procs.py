"""Real worker processes for the integration tests: spawn, signal, kill -9, and wait for things.

A worker is ``sys.executable`` running a small script written into the test's tmp dir: it
builds the app of ``jobapp.py`` on the test's database and calls ``app.run_worker``. Its log
(stdout and stderr) goes to a file next to the script, never to a pipe that could fill up.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import rota
from tests.acceptance.conftest import rota_command
from tests.support import Process, Processes, spawn, wait_until

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """\
import logging
import sys

import rota

sys.path.insert(0, {root!r})
from tests.integration.jobapp import build_app

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stderr,
    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
)
app = build_app(
    {database!r}, {marks!r}, lease_seconds={lease!r}, shutdown_timeout={shutdown!r}{extra}
)
app.run_worker(concurrency={concurrency!r})
logging.getLogger("worker-script").info("run_worker returned")
"""


NODE_APP = """\
import sys

sys.path.insert(0, {root!r})
from tests.integration.jobapp import build_app

app = build_app({database!r}, {marks!r}, lease_seconds={lease!r})
"""


class WorkerProcess(Process):
    """A worker process of a test: ``sys.executable`` running its script, logging to a file."""


class Procs(Processes):
    """Spawns worker processes of one test and kills every one of them at teardown."""

    def __init__(self, workdir: Path, database: str, marks: Path) -> None:
        super().__init__()
        self.workdir, self.database, self.marks = workdir, database, marks

    def spawn(
        self,
        *,
        concurrency: int = 4,
        lease_seconds: float = 2.0,
        shutdown_timeout: float = 10.0,
        app_options: str = "",
    ) -> WorkerProcess:
        """A worker process; ``app_options``: more keyword arguments of ``build_app``, as
        Python source (``"processes=rota.ProcessLimits(max_runs=2)"``)."""
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
                extra=f", {app_options}" if app_options else "",
            )
        )
        log_path = self.workdir / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        popen = spawn([sys.executable, str(script)], log_path, cwd=self.workdir, env=env)
        proc = WorkerProcess(name, popen, log_path)
        self.add(proc)
        return proc

    def spawn_node(
        self, *args: str, lease_seconds: float = 2.0, env: dict[str, str] | None = None
    ) -> Process:
        """The installed ``rota`` command (``rota worker``, ...) on the app of ``jobapp.py``;
        ``env``: more environment variables (``LD_PRELOAD`` of libfaketime, ...)."""
        name = f"{args[0]}{len(self.spawned) + 1}"
        app_file = self.workdir / f"{name}_app.py"
        app_file.write_text(
            NODE_APP.format(
                root=str(ROOT),
                database=self.database,
                marks=str(self.marks),
                lease=float(lease_seconds),
            )
        )
        log_path = self.workdir / f"{name}.log"
        environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        environ.pop("ROTA_DATABASE_URL", None)
        argv = [*rota_command(), "--app", str(app_file), *args]
        popen = spawn(argv, log_path, cwd=self.workdir, env=environ)
        return self.add(Process(name, popen, log_path))


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
        return app.runs.get(run_id)
    except rota.StorageUnavailable:
        return None


def wait_terminal(app: rota.App, run_id: int, timeout: float) -> rota.Run:
    """Wait until the run is succeeded, failed or cancelled; returns it."""

    def ended() -> rota.Run | None:
        run = read_run(app, run_id)
        return run if run is not None and run.state.terminal else None

    return wait_until(ended, timeout, f"run {run_id} to end")


def wait_started(proc: Process, timeout: float = 20.0) -> None:
    """Wait until the process logged that its node started."""
    proc.wait_for(lambda: " started (database " in proc.log(), timeout, f"{proc.name} to start")
