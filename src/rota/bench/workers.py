"""The bench's worker processes: started, waited for until their nodes are up, stopped."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import IO

from rota.app import App

START_TIMEOUT = 60.0


class Workers:
    """``count`` processes of ``python -m rota.bench.jobs URL CONCURRENCY``; ``pids`` of all
    ever started stay known, so the bench can forget their node rows afterwards."""

    def __init__(self, app: App, count: int, concurrency: int) -> None:
        self.app, self.count, self.concurrency = app, count, concurrency
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def __enter__(self) -> Workers:
        command = [sys.executable, "-m", "rota.bench.jobs", self.app.database_url]
        for _ in range(self.count):
            log = tempfile.TemporaryFile()
            self._logs.append(log)
            self.procs.append(
                subprocess.Popen(
                    [*command, str(self.concurrency)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        self._wait_ready()
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _wait_ready(self) -> None:
        """Until every process has registered its node, or one died (its output is the error)."""
        deadline = time.monotonic() + START_TIMEOUT
        pids = set(self.pids)
        while time.monotonic() < deadline:
            for proc, log in zip(self.procs, self._logs, strict=True):
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
                    raise RuntimeError(
                        f"a bench worker exited with {proc.returncode}: " + " | ".join(tail)
                    )
            up = {n.pid for n in self.app.nodes.list() if n.stopped_at is None}
            if pids <= up:
                return
            time.sleep(0.05)
        raise TimeoutError(f"bench workers did not start within {START_TIMEOUT:.0f}s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()
