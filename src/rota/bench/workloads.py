"""The measures themselves, each on the bench's own queue and job (``rota.bench.jobs``).

Rates are runs per second of wall time; latencies come from the runs' own timestamps
(``started_at - created_at`` on an idle worker; ``created_at - run_at`` for a schedule's fire),
so the way the bench waits for them does not enter the figures.
"""

from __future__ import annotations

import time

from rota.app import App
from rota.bench.jobs import NOOP, QUEUE, SCHEDULE
from rota.bench.schedule_view import OnlySchedule
from rota.runs import Run
from rota.scheduling.scheduler import Scheduler, SchedulerConfig
from rota.storage.bench import BenchStore

CHUNK = 1000
"""Runs per ``enqueue_many`` call in the bulk workload."""


def enqueue_each(app: App, count: int) -> float:
    """Runs per second launched one by one (one statement and commit each)."""
    job = app.get_job(NOOP)
    start = time.perf_counter()
    for i in range(count):
        job.enqueue(i=i)
    return count / (time.perf_counter() - start)


def enqueue_bulk(app: App, count: int) -> float:
    """Runs per second launched by ``enqueue_many`` in chunks of ``CHUNK``."""
    job = app.get_job(NOOP)
    start = time.perf_counter()
    for first in range(0, count, CHUNK):
        job.enqueue_many([{"i": i} for i in range(first, min(count, first + CHUNK))])
    return count / (time.perf_counter() - start)


def drain(app: App, store: BenchStore, timeout: float) -> float:
    """Runs per second from the first start to the last finish of the queued bench runs.

    The caller paused the queue while it enqueued them and started the workers, so every
    worker is up when the first run starts; this resumes it.
    """
    app.queues.resume(QUEUE)
    deadline = time.monotonic() + timeout
    while True:
        queue = app.queues.get(QUEUE)
        if queue.queued == 0 and queue.running == 0:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bench queue did not drain in {timeout:.0f}s")
        time.sleep(0.05)
    span = store.span(QUEUE)
    if span.first_start is None or span.last_finish is None or span.count == 0:
        raise RuntimeError("no bench run succeeded")
    return span.count / max(span.last_finish - span.first_start, 1e-6)


def latency(app: App, count: int) -> list[float]:
    """Enqueue-to-start milliseconds of ``count`` runs launched one at a time on an idle worker
    (one already running, started by the caller)."""
    job = app.get_job(NOOP)
    job.enqueue(i=-1).result(timeout=60, poll=0.002)  # warm up
    found: list[float] = []
    for i in range(count):
        handle = job.enqueue(i=i)
        handle.result(timeout=60, poll=0.002)
        run = handle.run()
        assert run.started_at is not None
        found.append((run.started_at - run.created_at).total_seconds() * 1000)
        time.sleep(0.01)  # idle between launches, as in real traffic
    return found


def fire_lateness(app: App, fires: int) -> list[float]:
    """How late (ms) a schedule ``every=1s`` creates its runs, over ``fires`` fire times.

    rota's own scheduler runs here, over a view of the store that shows it the bench's schedule
    only: the user's schedules are not fired by it.
    """
    app.add_schedule(SCHEDULE, NOOP, every=1, kwargs={"i": 0}, overlap=True)
    scheduler = Scheduler(
        OnlySchedule(app.store, SCHEDULE),
        app.jobs,
        SchedulerConfig(node_id=f"rota-bench-{time.time_ns()}"),
        app.clock,
    )
    scheduler.start()
    try:
        deadline = time.monotonic() + fires + 30
        while len(runs := _fired(app)) < fires:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bench schedule fired {len(runs)} of {fires} times")
            time.sleep(0.1)
    finally:
        scheduler.stop()
    return [(r.created_at - r.run_at).total_seconds() * 1000 for r in runs[:fires]]


def _fired(app: App) -> list[Run]:
    runs = [r for r in app.runs.list(job=NOOP, limit=1000) if r.schedule == SCHEDULE]
    return sorted(runs, key=lambda r: r.run_at)
