"""Throughput and latency of rota on one backend: run on demand, figures go in the notes.

    python benchmarks/throughput.py --database sqlite:////tmp/bench.db
    python benchmarks/throughput.py --database postgresql://postgres@127.0.0.1/rota_bench

Measures: enqueue rate one by one and in bulk (enqueue_many), the drain rate of no-op runs by
one worker process of concurrency 2, and enqueue-to-start latency on an idle worker
(p50/p95/p99). The database is emptied first: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import rota
from rota.runs import RunState

WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    import rota
    app = rota.App(database=sys.argv[1])
    @app.job
    def noop(i: int) -> None:
        return None
    app.run_worker(concurrency=int(sys.argv[2]))
    """
)


def reset(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'rota%'"
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


def make_app(url: str) -> tuple[rota.App, rota.Job]:
    app = rota.App(database=url)

    @app.job
    def noop(i: int) -> None:
        return None

    return app, noop


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def bench_enqueue(url: str, n_single: int, n_bulk: int) -> None:
    reset(url)
    app, noop = make_app(url)
    app.store  # noqa: B018 - open and migrate outside the timing
    t = time.perf_counter()
    for i in range(n_single):
        noop.enqueue(i=i)
    single = n_single / (time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, n_bulk, 1000):
        noop.enqueue_many([{"i": i} for i in range(start, min(n_bulk, start + 1000))])
    bulk = n_bulk / (time.perf_counter() - t)
    print(f"enqueue one by one : {single:10,.0f} runs/s  ({n_single} runs)")
    print(f"enqueue_many (1000): {bulk:10,.0f} runs/s  ({n_bulk} runs)")
    app.close()


def start_worker(url: str, concurrency: int, tmp: Path) -> subprocess.Popen[bytes]:
    script = tmp / "bench_worker.py"
    script.write_text(WORKER_SCRIPT)
    return subprocess.Popen([sys.executable, str(script), url, str(concurrency)])


def wait_done(app: rota.App, total: int, timeout: float, poll: float = 0.05) -> float:
    """When ``total`` runs have succeeded (``time.perf_counter``), found within ``poll``."""
    deadline = time.perf_counter() + timeout
    counts: dict[RunState, int] = {}
    while time.perf_counter() < deadline:
        counts = app.store.runs_count_by_state()
        if counts.get(RunState.SUCCEEDED, 0) >= total:
            return time.perf_counter()
        time.sleep(poll)
    raise TimeoutError(f"not drained in {timeout}s: {counts}")


def bench_drain(url: str, n: int, concurrency: int, tmp: Path) -> None:
    reset(url)
    app, noop = make_app(url)
    for start in range(0, n, 1000):
        noop.enqueue_many([{"i": i} for i in range(start, min(n, start + 1000))])
    proc = start_worker(url, concurrency, tmp)
    try:
        runs = app.runs.list(limit=1)
        t0 = time.perf_counter()
        while not app.runs.list(states=[RunState.RUNNING, RunState.SUCCEEDED], limit=1):
            time.sleep(0.005)
        t0 = time.perf_counter()
        t1 = wait_done(app, n, 600)
        del runs
        print(
            f"drain no-op runs   : {n / (t1 - t0):10,.0f} runs/s  ({n} runs, 1 worker, "
            f"concurrency {concurrency})"
        )
    finally:
        proc.terminate()
        proc.wait(30)
        app.close()


def bench_latency(url: str, n: int, tmp: Path) -> None:
    reset(url)
    app, noop = make_app(url)
    app.store  # noqa: B018
    proc = start_worker(url, 2, tmp)
    try:
        warm = noop.enqueue(i=-1)
        warm.result(timeout=60)
        lat = []
        for i in range(n):
            h = noop.enqueue(i=i)
            h.result(timeout=30, poll=0.002)
            run = h.run()
            assert run.started_at is not None
            lat.append((run.started_at - run.created_at).total_seconds() * 1000)
            time.sleep(0.01)  # an idle worker between launches, as in real traffic
        print(
            f"enqueue->start     : p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms,"
            f" p99 {pct(lat, 99):.1f} ms  ({n} runs, idle worker)"
        )
    finally:
        proc.terminate()
        proc.wait(30)
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=os.environ.get("ROTA_DATABASE_URL", "sqlite:////tmp/rota-bench.db")
    )
    parser.add_argument("--runs", type=int, default=20_000, help="runs to drain")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--latency-runs", type=int, default=300)
    parser.add_argument("--only", choices=["enqueue", "drain", "latency"])
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    print(f"backend {args.database.split(':')[0]}, python {sys.version.split()[0]}")
    if args.only in (None, "enqueue"):
        bench_enqueue(args.database, 2_000, args.runs)
    if args.only in (None, "drain"):
        bench_drain(args.database, args.runs, args.concurrency, tmp)
    if args.only in (None, "latency"):
        bench_latency(args.database, args.latency_runs, tmp)


if __name__ == "__main__":
    main()
