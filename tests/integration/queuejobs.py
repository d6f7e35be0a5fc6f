"""A job for the queue tests: it logs when each attempt starts and ends, with the time.

Lines go to ``starts.log`` in the marks dir, ``start|done <tag> <run> <attempt> <time>``
(``time.time()``, comparable with the test's clock on the same machine), each written by one
``os.write`` on an ``O_APPEND`` descriptor so that lines of several processes never mix.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import rota


def _log(marks: Path, kind: str, tag: str, ctx: rota.Context) -> None:
    line = f"{kind} {tag} {ctx.run_id} {ctx.attempt} {time.time():.6f}\n".encode()
    fd = os.open(marks / "starts.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def add_queue_jobs(app: rota.App, marks: Path) -> None:
    @app.job
    def timed(tag: str, seconds: float, ctx: rota.Context) -> str:
        """Logs its start, sleeps ``seconds``, logs its end."""
        _log(marks, "start", tag, ctx)
        time.sleep(seconds)
        _log(marks, "done", tag, ctx)
        return tag


def read_starts(marks: Path, kind: str = "start") -> list[tuple[str, int, float]]:
    """(tag, run id, time) of each complete ``kind`` line of starts.log."""
    try:
        text = (marks / "starts.log").read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and parts[0] == kind:
            out.append((parts[1], int(parts[2]), float(parts[4])))
    return out
