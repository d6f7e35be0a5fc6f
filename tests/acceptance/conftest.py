"""Drive the installed ``rota`` command as a user does: real subprocesses, real databases.

Every test gets an app file in its tmp_path and a fresh database of each backend (through the
``database_url`` fixture of tests/conftest.py). Waiting is always for a condition, with a
timeout, never for a fixed time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import kill_piped, stop_piped, wait_until

APP_SOURCE = '''
import os
import time

import rota

app = rota.App(poll_interval=0.1, lease_seconds=5)


@app.job
def add(a: int, b: int = 0) -> int:
    """Add two numbers."""
    return a + b


@app.job
def echo(text: str, times: int = 1) -> str:
    return text * times


@app.job(queue="mail", max_attempts=1)
def boom(message: str = "boom") -> None:
    raise ValueError(message)


@app.job(max_attempts=1)
def steps(n: int, ctx: rota.Context) -> int:
    for i in range(n):
        ctx.progress(i + 1, n, f"step {i + 1}")
    return n


@app.job(max_attempts=2)
def block(path: str) -> str:
    """Runs until the file at ``path`` exists (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"
'''


def rota_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    folder = os.path.dirname(sys.executable)
    for name in ("rota", "rota.exe"):
        script = os.path.join(folder, name)
        if os.path.exists(script):
            return [script]
    found = shutil.which("rota")
    return [found] if found else [sys.executable, "-m", "rota.cli.main"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ROTA_APP", "ROTA_DATABASE_URL")}
    env["NO_COLOR"] = "1"
    return env


@dataclass
class Result:
    args: list[str]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"rota {' '.join(self.args)} -> {self.code}\nstdout: {self.out}\nstderr: {self.err}"


class Cli:
    """``rota --app <file> --database <url> ...`` in a subprocess, from tmp_path."""

    def __init__(self, cwd: Path, app_file: Path, database_url: str) -> None:
        self.cwd, self.app_file, self.database_url = cwd, app_file, database_url
        self.command = rota_command()

    def globals(self, app: bool = True) -> list[str]:
        return (["--app", str(self.app_file)] if app else []) + ["--database", self.database_url]

    def raw(self, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Result:
        """Exactly these arguments, no global options added; ``env`` adds variables."""
        proc = subprocess.run(
            [*self.command, *args],
            cwd=self.cwd,
            env={**clean_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

    def __call__(self, *args: str, app: bool = True, timeout: float = 60) -> Result:
        return self.raw(*self.globals(app), *args, timeout=timeout)

    def ok(self, *args: str, app: bool = True) -> Result:
        result = self(*args, app=app)
        assert result.code == 0, str(result)
        return result

    def run_json(self, run_id: int) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("runs", "show", str(run_id), "--json").json()
        return data

    def wait_state(self, run_id: int, *states: str, timeout: float = 20) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            run = self.run_json(run_id)
            return run if run["state"] in states else None

        return wait_until(check, timeout, f"run {run_id} to be {'/'.join(states)}")

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.command, *self.globals(), *args],
            cwd=self.cwd,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def assert_user_error(result: Result, code: int, *needles: str) -> None:
    """Exit ``code``, nothing on stdout, one ``rota: error:`` line on stderr, no traceback."""
    assert result.code == code, str(result)
    assert result.out == "", str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert lines[0].startswith("rota: error: "), str(result)
    assert "Traceback" not in result.err, str(result)
    for needle in needles:
        assert needle in lines[0], str(result)


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.py"
    path.write_text(textwrap.dedent(APP_SOURCE))
    return path


@pytest.fixture
def cli(tmp_path: Path, app_file: Path, database_url: str) -> Cli:
    return Cli(tmp_path, app_file, database_url)


class Worker:
    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.proc: subprocess.Popen[str] | None = None

    def start(self, *args: str) -> subprocess.Popen[str]:
        self.proc = self.cli.start("worker", *args)
        return self.proc

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM, then the exit code and stderr once it has exited."""
        assert self.proc is not None
        code, err = stop_piped(self.proc, signal.SIGTERM, timeout)
        self.proc = None
        return code, err


@pytest.fixture
def worker(cli: Cli) -> Iterator[Worker]:
    w = Worker(cli)
    yield w
    if w.proc is not None:
        kill_piped(w.proc)
