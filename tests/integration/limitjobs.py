"""Jobs with flow-control limits, defined in the integration app (see jobapp.py).

Each appends ``<job> <key> <start> <end> <pid>`` to ``intervals.log`` in the marks dir when it
ends (wall-clock seconds, one ``os.write`` on an O_APPEND descriptor), so a test can check
that the intervals of one group never overlapped more than its limit allows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import rota

PER_JOB_LIMIT = 3
RATE = (20, 1.0)
LIMITED_QUEUE = "limited"


def add_limit_jobs(app: rota.App, marks: Path, released: Callable[[], bool]) -> None:
    def record(job: str, key: str, start: float) -> None:
        line = f"{job} {key} {start:.6f} {time.time():.6f} {os.getpid()}\n".encode()
        fd = os.open(marks / "intervals.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    @app.job(concurrency=1, concurrency_key="key")
    def per_key(key: str, ms: int, ctx: rota.Context) -> None:
        """One at a time per key; with ms < 0, the first attempt holds until ``release``."""
        start = time.time()
        (marks / f"per_key-{ctx.run_id}-{ctx.attempt}.start").write_text(str(os.getpid()))
        if ms < 0 and ctx.attempt == 1:
            end = time.monotonic() + 60
            while not released() and time.monotonic() < end:
                time.sleep(0.01)
        time.sleep(max(ms, 0) / 1000)
        record("per_key", key, start)

    @app.job(concurrency=PER_JOB_LIMIT)
    def per_job(ms: int) -> None:
        start = time.time()
        time.sleep(ms / 1000)
        record("per_job", "", start)

    @app.job(rate_limit=RATE)
    def rated(n: int) -> None:
        record("rated", "", time.time())

    @app.job(queue=LIMITED_QUEUE)
    def in_limited_queue(ms: int) -> None:
        """No limit of its own: its queue's limits are set at run time by the tests."""
        start = time.time()
        time.sleep(ms / 1000)
        record("in_limited_queue", "", start)
