"""The dashboard's aggregate queries on a table of --runs runs (1,000,000): run on demand.

    python benchmarks/overview_queries.py --database sqlite:////tmp/bench-overview.db
    python benchmarks/overview_queries.py \\
        --database postgresql://postgres@127.0.0.1:5432/rota_bench_overview

Seeds the runs table with SQL (much faster than launching a million runs): mostly runs that
ended over the last --days days (succeeded, some failed and cancelled), a backlog of queued
runs in a few queues, and some scheduled, retrying and running ones. Then prints, for each
query the overview page reads, its plan (PostgreSQL ``EXPLAIN``, SQLite ``EXPLAIN QUERY PLAN``)
and the median and worst time of --repeat calls through the store's own verb; then the time
of ``app.runs.summary``'s use case, the plan of the promotion of due runs, and the time of a
search over arguments that fills a page at once or reads the whole table. PostgreSQL gets a
``VACUUM ANALYZE`` after the load, as autovacuum would give it; SQLite gets no ``ANALYZE``
(rota never runs one). The database is emptied first: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from throughput import reset  # benchmarks/ is on sys.path when this file is run

from rota.runs import RunState
from rota.runs_summary import COUNT_CAP
from rota.storage import open_store
from rota.storage.base import ListParams, Store
from rota.usecases.runs import summary

QUEUES = ("default", "emails", "reports", "video", "billing")
# Per 1,000 runs: how many are in each state (the rest of the million follows these shares).
SHARES = (
    ("succeeded", 900),
    ("failed", 50),
    ("cancelled", 10),
    ("queued", 30),
    ("scheduled", 5),
    ("retrying", 3),
    ("running", 2),
)

# One row per i in 0..n-1: the state comes from i's place in a block of 1,000 (SHARES), the
# queue from i modulo 5 (skewed towards 'default'), times from i's place in the span.
_STATE_CASES = " ".join(
    f"WHEN mod(i, 1000) < {sum(s for _, s in SHARES[: k + 1])} THEN '{name}'"
    for k, (name, _) in enumerate(SHARES)
)

SQLITE_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, node_id, lease_expires_at)
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n),
t AS (SELECT i, CASE {_STATE_CASES.replace("mod(i, 1000)", "i % 1000")} END AS state,
             :now - :span + (:span * i) / :n AS at FROM s)
SELECT 'job_' || (i % 7),
       CASE WHEN i % 10 < 6 THEN 'default' ELSE json_extract(:queues, '$[' || (i % 5) || ']') END,
       state,
       '{{"user_id":' || i || ',"email":"user' || i || '@example.com","note":"seeded"}}',
       3,
       CASE state WHEN 'queued' THEN :now - 600 + (i % 600)
                  WHEN 'scheduled' THEN :now + 3600 ELSE at END,
       CASE state WHEN 'queued' THEN :now - 600 + (i % 600) ELSE at END,
       CASE WHEN state IN ('queued', 'scheduled') THEN NULL ELSE at + 1 END,
       CASE WHEN state IN ('succeeded', 'failed', 'cancelled') THEN at + 2 END,
       CASE WHEN state IN ('queued', 'scheduled') THEN 0 ELSE 1 END,
       CASE WHEN state = 'running' THEN 'bench-node' END,
       CASE WHEN state = 'running' THEN :now + 30 END
FROM t
"""

POSTGRES_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, node_id, lease_expires_at)
SELECT 'job_' || (mod(i, 7)),
       CASE WHEN mod(i, 10) < 6 THEN 'default' ELSE (%(queues)s::text[])[mod(i, 5) + 1] END,
       state,
       jsonb_build_object('user_id', i, 'email', 'user' || i || '@example.com',
                          'note', 'seeded'),
       3,
       CASE state WHEN 'queued' THEN %(now)s - (600 - mod(i, 600)) * interval '1 second'
                  WHEN 'scheduled' THEN %(now)s + interval '1 hour' ELSE at END,
       CASE state WHEN 'queued' THEN %(now)s - (600 - mod(i, 600)) * interval '1 second'
                  ELSE at END,
       CASE WHEN state IN ('queued', 'scheduled') THEN NULL ELSE at + interval '1 second' END,
       CASE WHEN state IN ('succeeded', 'failed', 'cancelled')
            THEN at + interval '2 seconds' END,
       CASE WHEN state IN ('queued', 'scheduled') THEN 0 ELSE 1 END,
       CASE WHEN state = 'running' THEN 'bench-node' END,
       CASE WHEN state = 'running' THEN %(now)s + interval '30 seconds' END
FROM (SELECT i, CASE {_STATE_CASES} END AS state,
             %(now)s - %(span)s * interval '1 second'
                 + (%(span)s * i / %(n)s) * interval '1 second' AS at
      FROM generate_series(0, %(n)s - 1) AS i) t
"""


def seed(url: str, n: int, now: datetime, days: float) -> None:
    span = days * 86400
    if url.startswith("sqlite"):
        import json
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            conn.execute(
                SQLITE_SEED,
                {"n": n, "now": now.timestamp(), "span": span, "queues": json.dumps(QUEUES)},
            )
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        params = {"n": n, "now": now, "span": span, "queues": list(QUEUES)}
        conn.execute(POSTGRES_SEED.encode(), params)
        conn.execute("VACUUM ANALYZE rota_runs")


def explain(url: str, sql: str, params: dict[str, Any], analyze: bool = True) -> str:
    """The plan, indented; PostgreSQL's with actual times unless ``analyze`` is off (a write)."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as lite:
            rows = lite.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(f"    {row[3]}" for row in rows)
    import psycopg

    how = "(ANALYZE, BUFFERS)" if analyze else "(COSTS OFF)"
    with psycopg.connect(url) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute(f"EXPLAIN {how} {sql}".encode(), params)
        return "\n".join(f"    {row[0]}" for row in cur.fetchall())


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst milliseconds of ``repeat`` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def report(name: str, call: Callable[[], object], repeat: int, plan: str | None = None) -> None:
    median, worst = timed(call, repeat)
    print(f"{name}: median {median:.2f} ms, worst {worst:.2f} ms", flush=True)
    if plan is not None:
        print(plan, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="Reuse a database seeded before.")
    args = parser.parse_args()

    url, now = args.database, datetime.now(UTC)
    if not args.keep:
        reset(url)
    store = open_store(url)
    store.migrate()
    if not args.keep:
        start = time.perf_counter()
        seed(url, args.runs, now, args.days)
        print(f"seeded {args.runs} runs in {time.perf_counter() - start:.0f} s")
    dialect = store.dialect  # type: ignore[attr-defined]
    stats = dialect.queries("stats.sql")
    for name, call, params in queries(store, now):
        report(name, call, args.repeat, explain(url, stats[name], params))
    report("summary (the use case)", lambda: summary(store, now, timedelta(hours=1)), args.repeat)
    promote = dialect.queries("queries.sql")["runs_promote"]
    print("runs_promote (plan only):")
    print(explain(url, promote, {"now": dialect.time(now)}, analyze=False))
    for label, text in SEARCHES:
        call = partial(store.runs_list, search_page(text))
        report(f"runs_list search {text!r} ({label})", call, 5)
    store.close()
    return 0


def search_page(text: str) -> ListParams:
    return ListParams(limit=51, search=text)


SEARCHES = (
    ("in every run: a full first page at once", "example.com"),
    ("in one old run: the whole table read", "user17@"),
    ("in none: the whole table read", "no such text"),
)


def queries(store: Store, now: datetime) -> list[tuple[str, Callable[[], object], dict[str, Any]]]:
    """(query name, the store's verb, the query's parameters as the backend takes them)."""
    dialect = store.dialect  # type: ignore[attr-defined]
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    since = until - timedelta(hours=1)
    states = dialect.array([s.value for s in RunState])
    return [
        ("runs_count_by_state_queue", store.runs_count_by_state_queue, {}),
        (
            "runs_count_by_state_queue_upto",
            lambda: store.runs_count_by_state_queue_upto(COUNT_CAP),
            {"states": states, "cap": COUNT_CAP},
        ),
        (
            "runs_finished_per_minute",
            lambda: store.runs_finished_per_minute(since, until),
            {"since": dialect.time(since), "until": dialect.time(until)},
        ),
        ("runs_oldest_queued", store.runs_oldest_queued, {}),
    ]


if __name__ == "__main__":
    sys.exit(main())
