"""The dashboard's aggregate queries on a table of --runs runs (1,000,000): run on demand.

    python benchmarks/overview_queries.py --database sqlite:////tmp/bench-overview.db
    python benchmarks/overview_queries.py \\
        --database postgresql://postgres@127.0.0.1:5432/rota_bench_overview

Seeds the runs table with SQL (``seed_runs``, much faster than launching a million runs):
mostly runs that ended over the last --days days (succeeded, some failed and cancelled), a
backlog of queued runs in a few queues, and some scheduled, retrying and running ones. Then
prints, for each query the overview page reads, its plan (PostgreSQL ``EXPLAIN``, SQLite
``EXPLAIN QUERY PLAN``) and the median and worst time of --repeat calls through the store's own
verb; then the time of ``app.runs.summary``'s use case, the plan of the promotion of due runs,
and the time of a search over arguments that fills a page at once or reads the whole table.
PostgreSQL gets a ``VACUUM ANALYZE`` after the load, as autovacuum would give it; SQLite gets
no ``ANALYZE`` (rota never runs one). The database is emptied first: never point it at data you
want to keep.
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

from seed_runs import explain, seed  # benchmarks/ is on sys.path when this file is run
from throughput import reset

from rota.runs import RunState
from rota.runs_summary import COUNT_CAP
from rota.storage import open_store
from rota.storage.base import ListParams, Store
from rota.usecases.runs import summary


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
