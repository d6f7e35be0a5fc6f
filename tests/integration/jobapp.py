"""The jobs the integration tests run, built the same way in worker processes and in the test.

Jobs talk to the test through files in ``marks``: ``<job>-<run>-<attempt>.start`` (holding
the pid) when an attempt begins, ``.done`` when it ends normally, and lines appended to
``effects.log`` by ``work`` (``start|done run attempt pid``). A single ``os.write`` on an
``O_APPEND`` descriptor reaches the kernel at once, so a line written before a kill -9 stays.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import rota
from tests.integration.batchjobs import add_batch_jobs
from tests.integration.limitjobs import add_limit_jobs
from tests.integration.procjobs import add_process_jobs
from tests.integration.queuejobs import add_queue_jobs

BLOCK_LIMIT = 60.0
"""No job blocks longer than this, so a test that fails never leaves a process behind long."""

FAST = rota.Backoff(base=0.1, cap=0.5, jitter=0.0)


def build_app(
    database: str,
    marks: str | Path,
    *,
    lease_seconds: float = 2.0,
    shutdown_timeout: float = 10.0,
    processes: rota.ProcessLimits | None = None,
) -> rota.App:
    marks = Path(marks)
    app = rota.App(
        database=database,
        name="integration",
        lease_seconds=lease_seconds,
        shutdown_timeout=shutdown_timeout,
        poll_interval=0.2,
        processes=processes,
    )

    def mark(ctx: rota.Context, what: str, text: str = "") -> None:
        name = f"{ctx.job_name}-{ctx.run_id}-{ctx.attempt}.{what}"
        (marks / name).write_text(text or str(os.getpid()))

    def effect(kind: str, ctx: rota.Context) -> None:
        line = f"{kind} {ctx.run_id} {ctx.attempt} {os.getpid()}\n".encode()
        fd = os.open(marks / "effects.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def until(done: Any, limit: float = BLOCK_LIMIT) -> bool:
        """Sleep in small steps until ``done()`` is true (True) or the limit passes (False)."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if done():
                return True
            time.sleep(0.01)
        return False

    def released() -> bool:
        return (marks / "release").exists()

    @app.job
    def hang_first(ctx: rota.Context) -> dict[str, int]:
        """Blocks on its first attempt until the test's ``release`` file exists (ignoring
        ctx.cancelled: only its end or its process's end stops it), returns on the next."""
        mark(ctx, "start")
        if ctx.attempt == 1:
            until(released)
        mark(ctx, "done")
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @app.job
    async def hang_first_async(ctx: rota.Context) -> dict[str, int]:
        mark(ctx, "start")
        if ctx.attempt == 1:
            end = time.monotonic() + BLOCK_LIMIT
            while not released() and time.monotonic() < end:
                await asyncio.sleep(0.01)
        mark(ctx, "done")
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @app.job
    def hand_back(ctx: rota.Context) -> str:
        """Works until its node shuts down, then hands its run back; finishes when resumed."""
        mark(ctx, "start")
        if (marks / "release").exists():
            return "resumed"
        until(lambda: ctx.shutting_down)
        raise rota.HandBack("to be resumed elsewhere")

    @app.job
    def work(n: int, ctx: rota.Context, ms: float = 10.0) -> int:
        """A short job (``ms`` long) with an observable effect per execution."""
        effect("start", ctx)
        time.sleep(ms / 1000)
        effect("done", ctx)
        return n

    @app.job
    def slow(seconds: float, ctx: rota.Context) -> str:
        """Sleeps without looking at ctx.cancelled: only finishing or the process ends it."""
        mark(ctx, "start")
        time.sleep(seconds)
        mark(ctx, "done")
        return "slept"

    @app.job
    def spin(seconds: float, ctx: rota.Context) -> str:
        """Busy for ``seconds`` in pure Python (CPU-bound: it holds the GIL whenever it can)."""
        mark(ctx, "start")
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            n += sum(range(1000))
        mark(ctx, "done")
        return "spun"

    @app.job
    def suicide(ctx: rota.Context) -> None:
        """Kills the process running it, every time."""
        mark(ctx, "start")
        os.kill(os.getpid(), signal.SIGKILL)

    @app.job
    def fenced(ctx: rota.Context) -> dict[str, int]:
        """First attempt: waits for the test's ``release`` file, then returns its result."""
        mark(ctx, "start")
        if ctx.attempt == 1:
            until(released)
        mark(ctx, "done")
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @app.job
    def cancellable_sync(ctx: rota.Context) -> str:
        mark(ctx, "start")
        stopped = until(lambda: ctx.cancelled)
        mark(ctx, "done")
        return "saw cancel" if stopped else "never cancelled"

    @app.job
    async def cancellable_async(ctx: rota.Context) -> str:
        mark(ctx, "start")
        try:
            await asyncio.sleep(BLOCK_LIMIT)
        except asyncio.CancelledError:
            await asyncio.sleep(0.3)  # cleanup: the run must not end before the job does
            mark(ctx, "cancelled")
            raise
        return "never cancelled"

    @app.job(timeout=0.5, max_attempts=3, backoff=FAST)
    def timeout_first_sync(ctx: rota.Context) -> int:
        """Overruns its timeout on the first attempt only (stopping when asked to)."""
        mark(ctx, "start")
        if ctx.attempt == 1:
            until(lambda: ctx.cancelled)
        return ctx.attempt

    @app.job(timeout=0.5, max_attempts=3, backoff=FAST)
    async def timeout_first_async(ctx: rota.Context) -> int:
        mark(ctx, "start")
        if ctx.attempt == 1:
            await asyncio.sleep(BLOCK_LIMIT)
        return ctx.attempt

    @app.job(timeout=0.5, max_attempts=2, backoff=FAST)
    def timeout_always_sync(ctx: rota.Context) -> None:
        mark(ctx, "start")
        until(lambda: ctx.cancelled)

    @app.job(timeout=0.5, max_attempts=2, backoff=FAST)
    async def timeout_always_async(ctx: rota.Context) -> None:
        mark(ctx, "start")
        await asyncio.sleep(BLOCK_LIMIT)

    def executions(ctx: rota.Context) -> int:
        """Counts this run's executions (a snooze keeps ``ctx.attempt``, so it cannot)."""
        effect("ran", ctx)
        mine = f"ran {ctx.run_id} "
        return sum(1 for line in _effect_lines(marks) if line.startswith(mine))

    @app.job(max_attempts=3, backoff=FAST)
    def snooze_twice_then_fail(ctx: rota.Context) -> None:
        """Snoozes on its first two executions, then fails every attempt."""
        if executions(ctx) <= 2:
            raise rota.Snooze(after=0.2)
        raise ValueError(f"attempt {ctx.attempt} failed")

    @app.job(max_attempts=3, backoff=FAST)
    async def snooze_twice_then_fail_async(ctx: rota.Context) -> None:
        if executions(ctx) <= 2:
            raise rota.Snooze(after=timedelta(seconds=0.2))
        raise ValueError(f"attempt {ctx.attempt} failed")

    @app.job
    def snooze_once(seconds: float, ctx: rota.Context) -> int:
        """Snoozes for ``seconds`` on its first execution, then returns how many it had."""
        n = executions(ctx)
        if n == 1:
            raise rota.Snooze(after=seconds)
        return n

    @app.job(max_attempts=1)
    def snooze_bad(after: float, ctx: rota.Context) -> None:
        """Asks for a wait rota refuses (negative, too long)."""
        executions(ctx)
        raise rota.Snooze(after=after)

    @app.job
    def snooze_when_released(ctx: rota.Context) -> None:
        """Waits for the test's ``release`` file (ignoring ctx.cancelled), then snoozes."""
        mark(ctx, "start")
        until(released)
        raise rota.Snooze(after=0)

    @app.job
    async def snooze_when_cancelled_async(ctx: rota.Context) -> None:
        """Answers its cancellation (as a task) by snoozing: the cancel must still win."""
        mark(ctx, "start")
        try:
            await asyncio.sleep(BLOCK_LIMIT)
        except asyncio.CancelledError:
            raise rota.Snooze(after=0) from None

    add_batch_jobs(app)
    add_queue_jobs(app, marks)
    add_limit_jobs(app, marks, released)
    add_process_jobs(app)
    return app


def _effect_lines(marks: Path) -> list[str]:
    try:
        return (marks / "effects.log").read_text().splitlines()
    except FileNotFoundError:
        return []
