"""What ``rota bench`` runs, in order, and the cleanup that leaves the database as it was."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rota.app import App
from rota.bench import jobs, workloads
from rota.bench.report import Rate, Report, Spread
from rota.bench.workers import Workers
from rota.errors import ConfigError
from rota.storage import backend_of, open_bench_store, redact
from rota.storage.bench import BenchStore, ForgetParams

WORKLOADS = ("enqueue", "bulk", "drain", "latency", "fire")
EACH_MAX = 2000
"""Runs launched one by one: ``runs``, at most this many (a slow backend stays quick)."""
CLAIM_K = 10
"""Rows the bare loop claims per statement."""

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Settings:
    database: str
    runs: int = 10_000
    workers: int = 1
    concurrency: int = 2
    latency_runs: int = 200
    fires: int = 10
    only: tuple[str, ...] = WORKLOADS


def run(settings: Settings, progress: Progress) -> Report:
    """Every chosen workload on rota, then its bare counterpart; the bench's data forgotten."""
    app = jobs.app
    app.use_database(settings.database)
    backend = backend_of(settings.database)
    report = Report(backend, redact(settings.database), settings.workers, settings.concurrency)
    store = open_bench_store(settings.database)
    pids: list[int] = []
    try:
        _refuse_live_workers(app)
        with _forgetting(app, store, pids):
            _rates(app, store, settings, report, pids, progress)
            _spreads(app, store, settings, report, pids, progress)
    finally:
        store.bare_drop()
        store.close()
        app.close()
    return report


def _rates(
    app: App, store: BenchStore, s: Settings, report: Report, pids: list[int], say: Progress
) -> None:
    sqlite = report.backend == "sqlite"
    each = min(s.runs, EACH_MAX)
    if "enqueue" in s.only:
        say(f"enqueue one by one: {each} runs")
        rota = workloads.enqueue_each(app, each)
        store.bare_reset()
        bare = _timed(lambda: store.bare_insert_each(each), each)
        report.rates.append(Rate("enqueue", "enqueue one by one", rota, bare, "INSERT", each))
        _forget(app, store, pids)
    if "bulk" in s.only or "drain" in s.only:
        say(f"enqueue in bulk: {s.runs} runs")
        rota = workloads.enqueue_bulk(app, s.runs)
        store.bare_reset()
        bare = _timed(lambda: store.bare_insert_bulk(s.runs), s.runs)
        if "bulk" in s.only:
            kind = "executemany" if sqlite else "COPY"
            report.rates.append(Rate("bulk", "enqueue in bulk", rota, bare, kind, s.runs))
    if "drain" in s.only:
        say(f"drain: {s.runs} runs, {s.workers} worker(s) x concurrency {s.concurrency}")
        app.queues.pause(jobs.QUEUE)
        with Workers(app, s.workers, s.concurrency) as workers:
            pids.extend(workers.pids)
            rota = workloads.drain(app, store, timeout=60 + s.runs / 50)
        start = time.perf_counter()
        drained = store.bare_drain(CLAIM_K)
        bare = drained / (time.perf_counter() - start)
        claim = f"claim k={CLAIM_K}" + ("" if sqlite else " SKIP LOCKED")
        report.rates.append(Rate("drain", "drain", rota, bare, claim, s.runs))
    _forget(app, store, pids)


def _spreads(
    app: App, store: BenchStore, s: Settings, report: Report, pids: list[int], say: Progress
) -> None:
    if "latency" in s.only:
        say(f"enqueue-to-start latency: {s.latency_runs} runs, one at a time")
        with Workers(app, 1, s.concurrency) as workers:
            pids.extend(workers.pids)
            samples = workloads.latency(app, s.latency_runs)
        report.spreads.append(Spread("latency", "enqueue to start", samples))
        _forget(app, store, pids)
    if "fire" in s.only:
        say(f"fire accuracy: a schedule every=1s, {s.fires} fires")
        samples = workloads.fire_lateness(app, s.fires)
        report.spreads.append(Spread("fire", "schedule fire lateness", samples, (50, 99)))


def _timed(work: Callable[[], None], count: int) -> float:
    """``count`` divided by the seconds ``work`` takes."""
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def _refuse_live_workers(app: App) -> None:
    """Another live node's worker could take the bench's runs (a worker serving every queue
    does): its figures would be wrong, and that worker would fail runs of a job it lacks."""
    live = [n for n in app.nodes.list() if n.stopped_at is None and "worker" in n.roles]
    alive = [n for n in live if n.alive(app.clock.now(), app.lease_seconds)]
    if alive:
        names = ", ".join(n.id for n in alive[:3])
        raise ConfigError(
            f"{len(alive)} live worker node(s) on this database ({names}): stop them, or point "
            "--database at a database of its own, so no other worker takes the bench's runs"
        )


def _forget(app: App, store: BenchStore, pids: list[int]) -> int:
    """Delete the bench's runs, queue row, schedule and its fires and stopped worker nodes."""
    params = ForgetParams(jobs.QUEUE, jobs.PREFIX, socket.gethostname(), tuple(pids))
    return store.forget(params)


@contextmanager
def _forgetting(app: App, store: BenchStore, pids: list[int]) -> Iterator[None]:
    """Forget leftovers of an interrupted bench first, and everything again at the end."""
    _forget(app, store, pids)
    try:
        yield
    finally:
        _forget(app, store, pids)
