"""The app of the workflow integration tests, built alike in worker processes and in the test.

Every job appends ``<job> <run> <attempt> <pid> <start> <end> <note>`` to ``wf.log`` in the
marks dir when it ends (wall-clock seconds; one ``os.write`` on an ``O_APPEND`` descriptor), so
a test counts executions and compares times. ``limited=True`` adds a job with a concurrency
limit: a worker serving it claims through the limited claim path (``claim_limited``); without
it, a worker takes the plain claim (on PostgreSQL ``runs_finish_and_claim``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import rota

BLOCK_LIMIT = 60.0
LOG = "wf.log"


class Execution(NamedTuple):
    job: str
    run_id: int
    attempt: int
    pid: int
    start: float
    end: float
    note: str


def executions(marks: Path) -> list[Execution]:
    """Every complete line of ``wf.log``."""
    try:
        text = (marks / LOG).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n"):
            job, run, attempt, pid, start, end, note = line.rstrip("\n").split(" ", 6)
            out.append(
                Execution(job, int(run), int(attempt), int(pid), float(start), float(end), note)
            )
    return out


def build_app(
    database: str,
    marks: str | Path,
    *,
    lease_seconds: float = 2.0,
    shutdown_timeout: float = 10.0,
    limited: bool = False,
) -> rota.App:
    marks = Path(marks)
    app = rota.App(
        database=database,
        name="workflows",
        lease_seconds=lease_seconds,
        shutdown_timeout=shutdown_timeout,
        poll_interval=0.2,
    )

    def record(ctx: rota.Context, start: float, note: object = "") -> None:
        line = (
            f"{ctx.job_name} {ctx.run_id} {ctx.attempt} {os.getpid()} "
            f"{start:.6f} {time.time():.6f} {note}\n"
        ).encode()
        fd = os.open(marks / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def mark(ctx: rota.Context, what: str) -> None:
        (marks / f"{ctx.job_name}-{ctx.run_id}-{ctx.attempt}.{what}").write_text(str(os.getpid()))

    def until(done: object, limit: float = BLOCK_LIMIT) -> bool:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if done():  # type: ignore[operator]
                return True
            time.sleep(0.01)
        return False

    @app.job
    def wf_num(n: int, ctx: rota.Context) -> int:
        start = time.time()
        record(ctx, start, n)
        return n

    @app.job
    def wf_add(k: int, up: rota.Upstream, ctx: rota.Context) -> int:
        """The sum of its upstreams' results plus ``k``."""
        start = time.time()
        total = sum(up.values()) + k
        record(ctx, start, ",".join(sorted(up)))
        return total

    @app.job
    def wf_sleep(tag: str, seconds: float, ctx: rota.Context) -> str:
        start = time.time()
        time.sleep(seconds)
        record(ctx, start, tag)
        return tag

    @app.job
    def wf_gather(up: rota.Upstream, ctx: rota.Context) -> list[str]:
        start = time.time()
        record(ctx, start, len(up))
        return sorted(str(v) for v in up.values())

    @app.job(max_attempts=1)
    def wf_flaky(tag: str, ctx: rota.Context) -> str:
        """Fails until the test writes ``fixed-<tag>`` in the marks dir."""
        start = time.time()
        record(ctx, start, tag)
        if not (marks / f"fixed-{tag}").exists():
            raise RuntimeError(f"{tag} is broken")
        return tag

    @app.job
    def wf_wait_cancel(ctx: rota.Context) -> str:
        start = time.time()
        mark(ctx, "start")
        seen = until(lambda: ctx.cancelled)
        record(ctx, start, "cancelled" if seen else "timeout")
        return "saw cancel" if seen else "never cancelled"

    @app.job
    def wf_hang_first(ctx: rota.Context) -> int:
        """Its first attempt blocks (ignoring cancel) until the test kills its process."""
        start = time.time()
        mark(ctx, "start")
        if ctx.attempt == 1:
            until(lambda: (marks / "release").exists())
        record(ctx, start)
        return ctx.attempt

    @app.job
    def wf_leaf(i: int, ctx: rota.Context) -> int:
        start = time.time()
        time.sleep(0.01 + (i % 5) / 1000)  # long enough for every worker to take some
        record(ctx, start, i)
        return i

    @app.job
    def wf_fanin(up: rota.Upstream, ctx: rota.Context) -> dict[str, int]:
        start = time.time()
        record(ctx, start, len(up))
        return {"count": len(up), "sum": sum(int(v) for v in up.values())}

    @app.workflow
    def wf_nightly(n: int) -> rota.Workflow:
        return rota.chain((wf_num, {"n": n}), (wf_add, {"k": 1}), name="nightly")

    if limited:

        @app.job(concurrency=2)
        def wf_limited(i: int, ctx: rota.Context) -> int:
            start = time.time()
            time.sleep(0.02)
            record(ctx, start, i)
            return i

    return app
