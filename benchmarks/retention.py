"""Claim latency while the pruner deletes a million old runs, against claim latency without it.

    python benchmarks/retention.py --database sqlite:////tmp/rota-retention.db
    python benchmarks/retention.py --database postgresql://postgres@127.0.0.1/rota_bench

The database is emptied first: never point it at data to keep. It is seeded in one SQL
statement with ``--runs`` runs that succeeded 30 days ago (past the default retention of 7
days). Then, in one process, a producer launches a steady stream of no-op runs (``--rate``
per second) and a claimer drains it as a worker does (claim up to 10, the previous claim's
outcomes finished in the same statement), timing every claim that returned runs:
  (a) for ``--seconds`` without pruning;
  (b) while a pruner in another process deletes the old runs, its passes back to back (the
      worst case: a leader runs one pass per ``lease_seconds``), until they are all gone or
      ``--prune-seconds`` passed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from throughput import reset  # benchmarks/ is on sys.path when this file is run

from rota.cluster.pruner import Pruner
from rota.runs import Event, Outcome, RunState
from rota.storage import open_store
from rota.storage.base import ClaimParams, InsertParams, NewRun, Store

NODE = "bench-worker"
LEASE = timedelta(seconds=30)

SQLITE_SEED = """
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, errors)
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n)
SELECT 'old', 'default', 'succeeded', '{"i":' || i || '}', 3, :at, :at, :at,
       :at + (i % 86400), 1, '[]'
FROM s
"""

POSTGRES_SEED = """
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, errors)
SELECT 'old', 'default', 'succeeded', jsonb_build_object('i', i), 3, %(at)s, %(at)s, %(at)s,
       %(at)s + mod(i, 86400) * interval '1 second', 1, '[]'::jsonb
FROM generate_series(0, %(n)s - 1) AS i
"""


def seed(url: str, n: int, at: datetime) -> float:
    began = time.perf_counter()
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            conn.execute(SQLITE_SEED, {"n": n, "at": at.timestamp()})
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(POSTGRES_SEED.encode(), {"n": n, "at": at})
            conn.execute("VACUUM ANALYZE rota_runs")
    return time.perf_counter() - began


def old_left(store: Store) -> int:
    return store.runs_count_by_state().get(RunState.SUCCEEDED, 0)


def prune_all(url: str, done: multiprocessing.Queue[tuple[int, float, int]]) -> None:
    """The pruner's passes back to back until a pass deletes nothing (another process)."""
    store = open_store(url)
    pruner = Pruner(store, 30.0)
    began, deleted, passes = time.perf_counter(), 0, 0
    while True:
        n = pruner.run_once()
        passes += 1
        deleted += n
        if n == 0:
            break
    done.put((deleted, time.perf_counter() - began, passes))
    store.close()


class Stream:
    """A producer at ``rate`` runs/s and a claimer draining them; claim latencies in ms."""

    def __init__(self, store: Store, rate: int) -> None:
        self.store, self.rate = store, rate
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.finished = 0

    def produce(self) -> None:
        tick, per_tick = 0.05, max(1, round(self.rate * 0.05))
        next_at = time.perf_counter()
        while not self.stop.is_set():
            now = datetime.now(UTC)
            runs = [
                NewRun(
                    job="noop",
                    args={},
                    queue="default",
                    priority=0,
                    max_attempts=3,
                    run_at=now,
                    state=RunState.QUEUED,
                )
                for _ in range(per_tick)
            ]
            self.store.runs_insert_many(InsertParams(runs, now))
            next_at += tick
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def claim(self) -> None:
        finish: list[Outcome] = []
        while not self.stop.is_set() or finish:
            now = datetime.now(UTC)
            params = ClaimParams(NODE, None, 10, now, now + LEASE, finish, jobs=["noop"])
            began = time.perf_counter()
            claimed = self.store.runs_claim(params).claimed
            took = time.perf_counter() - began
            self.finished += len(finish)
            if claimed:
                self.latencies.append(took * 1000)
            else:
                time.sleep(0.005)
            done_at = datetime.now(UTC)
            finish = [Outcome.of(r, NODE, Event.SUCCEED, done_at) for r in claimed]
            if self.stop.is_set() and finish:  # finish the last ones, claim nothing more
                now = datetime.now(UTC)
                self.store.runs_claim(ClaimParams(NODE, None, 0, now, now + LEASE, finish))
                self.finished += len(finish)
                finish = []

    def run(self, until: threading.Event | None, seconds: float) -> float:
        threads = [threading.Thread(target=self.produce), threading.Thread(target=self.claim)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        deadline = began + seconds
        while time.perf_counter() < deadline and not (until is not None and until.is_set()):
            time.sleep(0.05)
        self.stop.set()
        for t in threads:
            t.join()
        return time.perf_counter() - began


def figures(name: str, stream: Stream, elapsed: float) -> str:
    ms = sorted(stream.latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return (
        f"{name}: {len(ms)} claims in {elapsed:.1f}s, {stream.finished / elapsed:.0f} runs/s "
        f"finished; claim ms p50 {q[49]:.2f}  p95 {q[94]:.2f}  p99 {q[98]:.2f}  max {ms[-1]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=200, help="runs launched per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="of the baseline")
    parser.add_argument("--prune-seconds", type=float, default=600.0)
    args = parser.parse_args()
    url = args.database
    reset(url)
    store = open_store(url)
    store.migrate()
    took = seed(url, args.runs, datetime.now(UTC) - timedelta(days=30))
    print(f"{store.backend}: seeded {args.runs:,} runs that succeeded 30 days ago in {took:.1f}s")

    baseline = Stream(store, args.rate)
    print(figures("(a) no pruning   ", baseline, baseline.run(None, args.seconds)))

    ctx = multiprocessing.get_context("spawn")
    done: multiprocessing.Queue[tuple[int, float, int]] = ctx.Queue()
    pruner = ctx.Process(target=prune_all, args=(url, done))
    pruned = threading.Event()
    pruner.start()
    threading.Thread(target=lambda: (pruner.join(), pruned.set()), daemon=True).start()
    during = Stream(store, args.rate)
    elapsed = during.run(pruned, args.prune_seconds)
    print(figures("(b) while pruning", during, elapsed))
    if pruned.is_set():
        deleted, secs, passes = done.get()
        print(
            f"pruner: deleted {deleted:,} rows in {secs:.1f}s ({deleted / secs:,.0f}/s) "
            f"over {passes} passes; old runs left: "
            f"{old_left(store) - baseline.finished - during.finished:,}"
        )
    else:
        print(f"pruner: not done after {elapsed:.0f}s; stopped")
        pruner.terminate()
    store.close()


if __name__ == "__main__":
    main()
