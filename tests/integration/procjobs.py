"""Jobs of ``executor="process"``, module-level as such jobs must be: the child process of the
worker imports them by name. ``add_process_jobs`` registers them on the integration app.

They talk to the test through files in the marks dir given as their ``marks`` argument, named
like jobapp's: ``<job>-<run>-<attempt>.<what>``, holding the pid of the child that wrote it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import rota

LIMIT = 60.0
"""No job blocks longer than this, so a failed test leaves no process behind for long."""

FAST = rota.Backoff(base=0.1, cap=0.5, jitter=0.0)


def _mark(marks: str, ctx: rota.Context, what: str) -> None:
    name = f"{ctx.job_name}-{ctx.run_id}-{ctx.attempt}.{what}"
    (Path(marks) / name).write_text(str(os.getpid()))


def _released(marks: str) -> bool:
    return (Path(marks) / "release").exists()


def proc_add(a: int, b: int, ctx: rota.Context) -> dict[str, int]:
    """A sum and the pid of the process that computed it."""
    return {"sum": a + b, "pid": os.getpid(), "attempt": ctx.attempt}


def proc_upstream(up: rota.Upstream) -> dict[str, int]:
    """A workflow step: the sums of its upstream steps, and whether it ran in their process."""
    return {name: result["sum"] for name, result in sorted(up.items())} | {"pid": os.getpid()}


def proc_pid() -> int:
    return os.getpid()


def proc_sleep(marks: str, seconds: float, ctx: rota.Context) -> str:
    """Sleeps in ``time.sleep`` on its first attempt (deaf to ctx.cancelled), then returns."""
    _mark(marks, ctx, "start")
    if ctx.attempt == 1:
        time.sleep(seconds)
    _mark(marks, ctx, "done")
    return "slept"


def proc_spin(marks: str, ctx: rota.Context) -> None:
    """A busy loop that never ends on its own and never looks at ctx.cancelled."""
    _mark(marks, ctx, "start")
    n = 0
    while True:
        n += 1


def proc_exit(marks: str, ctx: rota.Context) -> None:
    _mark(marks, ctx, "start")
    os._exit(3)


def proc_sigkill(marks: str, ctx: rota.Context) -> None:
    _mark(marks, ctx, "start")
    os.kill(os.getpid(), signal.SIGKILL)


def proc_progress(marks: str, ctx: rota.Context) -> str:
    """Reports progress, then waits until cancelled or released."""
    ctx.progress(3, 10, "three of ten")
    _mark(marks, ctx, "start")
    end = time.monotonic() + LIMIT
    while time.monotonic() < end and not ctx.cancelled and not _released(marks):
        time.sleep(0.01)
    _mark(marks, ctx, "cancelled" if ctx.cancelled else "done")
    return "saw cancel" if ctx.cancelled else "released"


async def proc_progress_async(marks: str, ctx: rota.Context) -> str:
    """As proc_progress, async: a cancel cancels its task in the child."""
    ctx.progress(3, 10, "three of ten")
    _mark(marks, ctx, "start")
    try:
        await asyncio.sleep(LIMIT)
    except asyncio.CancelledError:
        _mark(marks, ctx, "cancelled")
        raise
    return "never cancelled"


def proc_deaf(marks: str, ctx: rota.Context) -> str:
    """Ignores ctx.cancelled: only its timeout (or the worker's end) stops it."""
    _mark(marks, ctx, "start")
    time.sleep(LIMIT)
    return "never"


def add_process_jobs(app: rota.App) -> None:
    process = app.job(executor="process")
    process(proc_add)
    process(proc_pid)
    process(proc_progress)
    process(proc_progress_async)
    process(proc_upstream)
    app.job(executor="process", timeout=0.5, max_attempts=2, backoff=FAST)(proc_sleep)
    app.job(executor="process", timeout=0.5, max_attempts=1)(proc_spin)
    app.job(executor="process", max_attempts=2, backoff=FAST)(proc_exit)
    app.job(executor="process", max_attempts=2, backoff=FAST)(proc_sigkill)
    app.job(executor="process", timeout=3, max_attempts=1)(proc_deaf)
