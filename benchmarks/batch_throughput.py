"""Batch chunk-step throughput and per-chunk checkpoint overhead: run on demand.

    python benchmarks/batch_throughput.py                       # SQLite file in a temp dir
    python benchmarks/batch_throughput.py \\
        --database postgresql://postgres@127.0.0.1:5432/rota_bench_batch

A CSV of --rows orders (id, customer, amount, ISO day) is generated once into --workdir, then
read by CsvReader, parsed into dicts and inserted by SqlWriter("bench_orders") in rota's
checkpoint transaction (exactly-once). Sizes 10 and 100 run on --rows-small rows. The baseline
is the same parse + INSERTs without rota: executemany and a commit per 10,000 rows. Overhead
per commit = (t_rota - t_baseline scaled to the same rows) / rota's commits. The database is
emptied first (rota's tables and bench_orders): never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from throughput import reset  # benchmarks/ is on sys.path when this file is run

import rota
from rota import batch

TABLE = "bench_orders"
BASELINE_COMMIT = 10_000


@dataclass
class Result:
    label: str
    size: int
    rows: int
    seconds: float
    commits: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def make_csv(workdir: Path, rows: int) -> Path:
    path = workdir / f"orders-{rows}.csv"
    if path.exists():
        return path
    rng, day0 = random.Random(rows), date(2024, 1, 1)
    names = [f"Customer {i:05d}" for i in range(5000)]
    with path.with_suffix(".tmp").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "customer", "amount", "day"])
        for i in range(1, rows + 1):
            amount = f"{rng.randrange(1, 1_000_000) / 100:.2f}"
            out.writerow([i, rng.choice(names), amount, day0 + timedelta(rng.randrange(730))])
    path.with_suffix(".tmp").rename(path)
    return path


def parse(row: dict[str, str]) -> dict[str, Any]:
    """Validate one CSV row into typed columns (the day stays ISO text, checked)."""
    customer = row["customer"].strip()
    amount = float(row["amount"])
    if not customer or amount < 0:
        raise ValueError(f"bad order row {row!r}")
    return {
        "id": int(row["id"]),
        "customer": customer,
        "amount": amount,
        "day": date.fromisoformat(row["day"]).isoformat(),
    }


def connect(url: str) -> Any:
    """A plain DB-API connection to the benchmark database (WAL + NORMAL on SQLite, as rota)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn
    import psycopg

    return psycopg.connect(url)


def ensure_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        return
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fresh(url: str) -> None:
    """Empty the database, let rota create its schema, then create the target table."""
    reset(url)
    app = rota.App(database=url)
    app.store  # noqa: B018 - migrate outside the timing
    app.close()
    real = "REAL" if url.startswith("sqlite") else "DOUBLE PRECISION"
    conn = connect(url)
    with conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(
            f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, customer TEXT NOT NULL,"
            f" amount {real} NOT NULL, day DATE NOT NULL)"
        )
    conn.close()


def count_rows(url: str) -> int:
    conn = connect(url)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0])
    finally:
        conn.close()


def check(label: str, got: int, want: int) -> None:
    if got != want:
        raise SystemExit(f"FAILED {label}: {got} rows written, expected {want}")


def run_rota(url: str, path: Path, rows: int, size: int, mode: str, workdir: Path) -> Result:
    fresh(url)
    app = rota.App(database=url, name="bench-batch")
    out = workdir / "orders-out.jsonl"
    writers: dict[str, Callable[[], Any]] = {
        "sql": lambda: batch.SqlWriter(TABLE),
        "sql connect=": lambda: batch.SqlWriter(TABLE, connect=lambda: connect(url)),
        "jsonl": lambda: batch.JsonLinesWriter(out),
    }

    @app.batch
    def load_orders(path: str) -> batch.Flow:
        reader = batch.CsvReader(path)
        step = batch.chunk(
            "load", reader=reader, processor=parse, writer=writers[mode](), size=size
        )
        return batch.Flow([step])

    handle = load_orders.enqueue(path=str(path))
    t0 = time.perf_counter()
    outcome = app.drain()
    seconds = time.perf_counter() - t0
    execution = app.batches.for_run(handle.id)
    app.close()
    if outcome != {"succeeded": 1} or execution is None:
        raise SystemExit(f"FAILED rota {mode} size {size}: {outcome} {execution}")
    step = execution.steps[0]
    label = f"rota {mode} size {size}"
    check(label + " (step counts)", step.written, rows)
    written = sum(1 for _ in out.open()) if mode == "jsonl" else count_rows(url)
    check(label, written, rows)
    return Result(f"rota, {mode}", size, rows, seconds, step.commits)


def run_baseline(url: str, path: Path, rows: int) -> Result:
    """The same parse and INSERTs on a plain connection: executemany, commit per 10,000."""
    fresh(url)
    sql = f"INSERT INTO {TABLE} (id, customer, amount, day) VALUES " + (
        "(?, ?, ?, ?)" if url.startswith("sqlite") else "(%s, %s, %s, %s)"
    )
    t0 = time.perf_counter()
    conn, commits = connect(url), 0
    with path.open(newline="") as f:
        items: Iterator[dict[str, Any]] = map(parse, csv.DictReader(f))
        while batch_rows := list(itertools.islice(items, BASELINE_COMMIT)):
            cur = conn.cursor()
            cur.executemany(
                sql, [(r["id"], r["customer"], r["amount"], r["day"]) for r in batch_rows]
            )
            cur.close()
            conn.commit()
            commits += 1
    conn.close()
    seconds = time.perf_counter() - t0
    check("baseline", count_rows(url), rows)
    return Result("baseline (no rota)", BASELINE_COMMIT, rows, seconds, commits)


def print_table(results: list[Result], baseline: Result | None) -> None:
    print(
        f"{'':24} {'chunk':>6} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'commits':>8} "
        f"{'ms/commit over baseline':>24}"
    )
    for r in results:
        over = ""
        if baseline is not None and r is not baseline:
            scaled = baseline.seconds * r.rows / baseline.rows
            over = f"{(r.seconds - scaled) * 1000 / r.commits:.3f}"
        print(
            f"{r.label:24} {r.size:>6,} {r.rows:>10,} {r.seconds:>8.2f} {r.rate:>10,.0f} "
            f"{r.commits:>8,} {over:>24}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workdir = Path(tempfile.gettempdir()) / "rota-bench-batch"
    parser.add_argument("--workdir", type=Path, default=workdir, help="CSV and SQLite files")
    parser.add_argument("--database", help="default: sqlite:///WORKDIR/rota-bench-batch.db")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-small", type=int, default=100_000, help="rows for sizes < 1000")
    parser.add_argument("--only", choices=["throughput", "overhead", "modes"])
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite:///{args.workdir / 'rota-bench-batch.db'}"
    ensure_database(url)
    big, small = make_csv(args.workdir, args.rows), make_csv(args.workdir, args.rows_small)
    print(f"backend {url.split(':')[0]}, python {sys.version.split()[0]}, csv {big}")

    def rota_run(size: int, mode: str = "sql") -> Result:
        rows, path = (args.rows, big) if size >= 1000 else (args.rows_small, small)
        return run_rota(url, path, rows, size, mode, args.workdir)

    main_run = None
    if args.only in (None, "throughput", "overhead"):
        main_run = rota_run(1000)
        print(
            f"\n1. chunk step CsvReader -> parse -> SqlWriter (in rota's transaction), size 1000:"
            f" {main_run.rate:,.0f} rows/s, {main_run.seconds:.2f} s for {main_run.rows:,} rows"
        )
    if args.only in (None, "overhead"):
        print(
            f"\n2. checkpoint overhead per chunk size (sizes 10 and 100 on {args.rows_small:,}"
            f" rows, 1000 and 10000 on {args.rows:,}; baseline scaled to each run's rows)"
        )
        baseline = run_baseline(url, big, args.rows)
        assert main_run is not None
        runs = [rota_run(10), rota_run(100), main_run, rota_run(10_000)]
        print_table([baseline, *runs], baseline)
    if args.only in (None, "modes"):
        print(f"\n3. where the time goes: writers at size 1000 on {args.rows:,} rows")
        modes = [
            main_run or rota_run(1000),
            rota_run(1000, "sql connect="),
            rota_run(1000, "jsonl"),
        ]
        print_table(modes, None)


if __name__ == "__main__":
    main()
