"""Claim time with millions of finished runs in the table, against an empty table.

    python benchmarks/table_health.py \
        --full postgresql://postgres@127.0.0.1/rota_bench_full \
        --empty postgresql://postgres@127.0.0.1/rota_bench_empty --runs 10000000
    python benchmarks/table_health.py --full sqlite:////tmp/rota-full.db \
        --empty sqlite:////tmp/rota-empty.db --runs 2000000

Both databases are emptied first (``--reuse`` keeps a full one seeded by an earlier run):
never point them at data to keep. The schema comes from rota's own migrations; the full one is
then seeded in SQL (``INSERT ... SELECT``, a million rows a statement) with ``--runs`` ended
runs: per 1,000, 900 succeeded, 70 failed (with an error entry), 30 cancelled; ended over the
last 30 days, spread evenly; seven jobs over five queues, JSON arguments and results. Then
``VACUUM ANALYZE`` (PostgreSQL) or ``ANALYZE`` (SQLite). The target: the full table's figures
within 1.2x of the empty one's.

Rounds (``--rounds``), interleaved, the order of the two databases alternating, each:
  (a) claim latency: a producer launches ``--rate`` no-op runs per second and a claimer drains
      them as a worker does (claim up to 10, the previous claim's outcomes finished in the same
      statement, ``Store.runs_claim``), for ``--seconds``; every claim that returned runs timed;
  (b) drain: ``--drain`` queued no-op runs (``enqueue_many``) drained by one real worker
      process of concurrency 2, from its first start to the last success.
The empty database is truncated before each round; the full one keeps the runs finished in
earlier rounds (a few tens of thousands over its millions). The worker runs with
``retention=None``: the pruner would otherwise delete the seeded runs older than 7 days
(benchmarks/retention.py measures claims during a prune). ``--explain`` prints the claim's
plan on both databases at the end.

The full database keeps its dead tuples between runs: every run claimed leaves a dead entry in
the claim's partial index (rota_runs_claim) that each claim steps over until a VACUUM, and
autovacuum visits a table of 10 million runs only after 2 million dead tuples (its default
scale factor, 0.2). Run ``VACUUM rota_runs`` on it before a run with ``--reuse`` to compare
like with like, and mind the server's autovacuum setting (``SHOW autovacuum``).
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
from typing import Any

from retention import Stream  # benchmarks/ is on sys.path when this file is run
from throughput import reset

import rota
from rota.storage import open_store

BATCH = 1_000_000
TERMINAL = "CASE WHEN {m} < 900 THEN 'succeeded' WHEN {m} < 970 THEN 'failed' ELSE 'cancelled' END"
ERROR = (
    '[{"attempt": 1, "type": "ValueError", "message": "card declined", '
    '"traceback": "Traceback (most recent call last):\\n  File \\"jobs.py\\", line 42\\n'
    'ValueError: card declined\\n", "at": "2026-01-01T00:00:00+00:00"}]'
)

POSTGRES_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, result, errors)
SELECT 'job_' || mod(i, 7), (ARRAY['default','emails','reports','video','billing'])[mod(i, 5) + 1],
       state, jsonb_build_object('user_id', i, 'email', 'user' || i || '@example.com'), 3,
       at, at, at + interval '1 second', at + interval '2 seconds', 1,
       CASE WHEN state = 'succeeded' THEN jsonb_build_object('ok', true, 'n', i) END,
       CASE WHEN state = 'failed' THEN %(error)s::jsonb ELSE '[]'::jsonb END
FROM (SELECT i, {TERMINAL.format(m="mod(i, 1000)")} AS state,
             %(now)s::timestamptz - interval '30 days'
                 + (2592000.0 * i / %(n)s) * interval '1 second' AS at
      FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i) t
"""

SQLITE_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, result, errors)
WITH RECURSIVE s(i) AS (SELECT :lo UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :hi),
t AS (SELECT i, {TERMINAL.format(m="(i % 1000)")} AS state,
             :now - 2592000.0 + (2592000.0 * i) / :n AS at FROM s)
SELECT 'job_' || (i % 7), json_extract('["default","emails","reports","video","billing"]',
                                       '$[' || (i % 5) || ']'),
       state, '{{"user_id":' || i || ',"email":"user' || i || '@example.com"}}', 3,
       at, at, at + 1, at + 2, 1,
       CASE WHEN state = 'succeeded' THEN '{{"ok":true,"n":' || i || '}}' END,
       CASE WHEN state = 'failed' THEN :error ELSE '[]' END
FROM t
"""

WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    import rota
    app = rota.App(database=sys.argv[1], retention=None)
    @app.job
    def noop(i: int) -> None:
        return None
    app.run_worker(concurrency=2)
    """
)


def sql(url: str, statement: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Rows of one statement, autocommitted, on its own connection."""
    if url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None, timeout=60)
        try:
            return lite.execute(statement, params or {}).fetchall()
        finally:
            lite.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement.encode(), params)
        return cur.fetchall() if cur.description else []


def seed(url: str, n: int) -> float:
    began, now = time.perf_counter(), time.time()
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        if url.startswith("sqlite"):
            sql(url, SQLITE_SEED, {"lo": lo, "hi": hi, "n": n, "now": now, "error": ERROR})
        else:
            from datetime import UTC, datetime

            at = datetime.fromtimestamp(now, UTC)
            sql(url, POSTGRES_SEED, {"lo": lo, "hi": hi, "n": n, "now": at, "error": ERROR})
        print(f"  seeded {hi:,} runs, {time.perf_counter() - began:.0f}s", flush=True)
    sql(url, "ANALYZE" if url.startswith("sqlite") else "VACUUM ANALYZE rota_runs")
    return time.perf_counter() - began


def prepare(url: str, n: int, reuse: bool) -> None:
    if reuse and n:
        try:
            have = sql(url, "SELECT count(*) FROM rota_runs")[0][0]
        except Exception:  # no table yet: seed it
            have = 0
        if have >= n:
            print(f"{url}: reusing its {have:,} runs")
            return
    reset(url)
    store = open_store(url)
    store.migrate()
    store.close()
    if n:
        print(f"{url}: seeded {n:,} ended runs in {seed(url, n):.0f}s", flush=True)


def latency(url: str, rate: int, seconds: float) -> tuple[list[float], float]:
    store = open_store(url)
    stream = Stream(store, rate)
    elapsed = stream.run(None, seconds)
    store.close()
    return stream.latencies, stream.finished / elapsed


def drain(url: str, n: int, tmp: Path) -> float:
    """Runs/s of one worker process draining ``n`` queued no-op runs."""
    app = rota.App(database=url, retention=None)

    @app.job
    def noop(i: int) -> None:
        return None

    base = sql(url, "SELECT coalesce(max(id), 0) FROM rota_runs")[0][0]
    for start in range(0, n, 1000):
        noop.enqueue_many([{"i": i} for i in range(start, min(n, start + 1000))])
    app.close()
    script = tmp / "table_health_worker.py"
    script.write_text(WORKER_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), url])
    count = (
        "SELECT count(*) FILTER (WHERE state <> 'queued'), "
        "count(*) FILTER (WHERE state = 'succeeded') FROM rota_runs WHERE id > %(b)s"
    )
    if url.startswith("sqlite"):
        count = count.replace("%(b)s", ":b")
    t0, deadline = 0.0, time.perf_counter() + 900
    try:
        while time.perf_counter() < deadline:
            started, done = sql(url, count, {"b": base})[0]
            if started and not t0:
                t0 = time.perf_counter()
            if done >= n:
                return n / (time.perf_counter() - t0)
            time.sleep(0.05)
        raise TimeoutError(f"{n} runs not drained in 900s")
    finally:
        proc.terminate()
        proc.wait(60)


def explain(url: str) -> None:
    """EXPLAIN ANALYZE of the worker's claim (10 of 100 queued runs), rolled back."""
    from datetime import UTC, datetime, timedelta

    import psycopg

    from rota.storage.postgres.connection import Q
    from rota.storage.postgres.store import CLAIM_PLAN

    now = datetime.now(UTC)
    arrays = "ids attempts node_ids states next_attempts finished run_ats c_states c_attempts"
    values: dict[str, Any] = {
        k: [] for k in (arrays + " c_finished c_run_ats results errors").split()
    }
    values.update(now=now, lease_until=now + timedelta(seconds=30), node_id="explain", limit=10)
    values.update(queues=None, jobs=["noop"], run_id=None)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at) "
            "SELECT 'noop', 'default', 'queued', '{}', 3, %(now)s, %(now)s "
            "FROM generate_series(1, 100)",
            {"now": now},
        )
        conn.execute(CLAIM_PLAN)
        plan = conn.execute(
            b"EXPLAIN (ANALYZE, BUFFERS) " + Q["runs_finish_and_claim"].encode(), values
        )
        print(f"claim plan on {url}:")
        print("\n".join(f"    {row[0]}" for row in plan.fetchall()))
        conn.rollback()


def pct(ms: list[float], p: int) -> float:
    return statistics.quantiles(ms, n=100, method="inclusive")[p - 1]


def one_round(args: argparse.Namespace, name: str, url: str, tmp: Path) -> dict[str, Any]:
    if name == "empty":
        reset(url)
        store = open_store(url)
        store.migrate()
        store.close()
    ms, finished = latency(url, args.rate, args.seconds)
    rate = drain(url, args.drain, tmp)
    print(
        f"  {name:5}: claim ms p50 {pct(ms, 50):6.2f} p99 {pct(ms, 99):6.2f} "
        f"({len(ms)} claims, {finished:.0f} runs/s finished); drain {rate:,.0f} runs/s",
        flush=True,
    )
    return {"ms": ms, "drain": rate}


def summary(rounds: dict[str, list[dict[str, Any]]]) -> None:
    figs: dict[str, tuple[float, float, float]] = {}
    for name, rs in rounds.items():
        ms = [m for r in rs for m in r["ms"]]
        figs[name] = (pct(ms, 50), pct(ms, 99), statistics.median(r["drain"] for r in rs))
    e, f = figs["empty"], figs["full"]
    print("summary (all rounds' claims pooled; drain: median of rounds)")
    print(f"  empty: claim p50 {e[0]:.2f} ms  p99 {e[1]:.2f} ms  drain {e[2]:,.0f} runs/s")
    print(f"  full : claim p50 {f[0]:.2f} ms  p99 {f[1]:.2f} ms  drain {f[2]:,.0f} runs/s")
    print(
        f"  full/empty: claim p50 {f[0] / e[0]:.2f}x  p99 {f[1] / e[1]:.2f}x  "
        f"drain time {e[2] / f[2]:.2f}x  (target: <= 1.2x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", required=True, help="database seeded with --runs ended runs")
    parser.add_argument("--empty", required=True, help="the baseline database")
    parser.add_argument("--runs", type=int, default=10_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a seeded full database")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=int, default=200, help="runs launched per second in (a)")
    parser.add_argument("--seconds", type=float, default=15.0, help="of (a), per round")
    parser.add_argument("--drain", type=int, default=20_000, help="runs drained in (b)")
    parser.add_argument("--explain", action="store_true", help="and the claim's plans (PG)")
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    prepare(args.full, args.runs, args.reuse)
    prepare(args.empty, 0, False)
    rounds: dict[str, list[dict[str, Any]]] = {"empty": [], "full": []}
    for k in range(args.rounds):
        order = ["empty", "full"] if k % 2 == 0 else ["full", "empty"]
        print(f"round {k + 1}/{args.rounds}", flush=True)
        for name in order:
            url = args.empty if name == "empty" else args.full
            rounds[name].append(one_round(args, name, url, tmp))
    if args.rounds:
        summary(rounds)
    if args.explain and not args.full.startswith("sqlite"):
        for url in (args.empty, args.full):
            explain(url)


if __name__ == "__main__":
    main()
