"""Draining through PgBouncer (transaction pooling) against draining directly, interleaved.

    python benchmarks/pgbouncer.py --direct postgresql://postgres@127.0.0.1/rota_bench

Starts its own PgBouncer in transaction mode in front of ``--direct`` (as the tests do, from
tests/pgbouncer/bouncer.py; Debian's ``pgbouncer`` must be installed), or uses ``--pooled``.
Each round measures, for each way in (direct; the pooler with workers polling; the pooler with
``rota_listen`` on the direct URL; with ``--unprepared`` also direct without prepared
statements), in an order that alternates between rounds: launches one by one, the drain of
``--runs`` no-op runs by one worker process, and enqueue-to-start latency on an idle worker.
The database is emptied first: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

from throughput import make_app, pct, reset, start_worker, wait_done

from rota.runs import RunState

ROOT = Path(__file__).resolve().parents[1]


def start_pooler(direct: str) -> tuple[str, object]:
    os.environ["ROTA_TEST_POSTGRES_URL"] = direct  # the server the pooler points at
    sys.path.insert(0, str(ROOT))
    from tests.pgbouncer.bouncer import start_pgbouncer

    bouncer = start_pgbouncer()
    return bouncer.url, bouncer


def one_round(
    name: str, url: str, direct: str, runs: int, latency_runs: int, tmp: Path
) -> dict[str, float]:
    reset(direct)
    app, noop = make_app(url)
    app.store  # noqa: B018 - open and migrate outside the timing
    t = time.perf_counter()
    for i in range(500):
        noop.enqueue(i=i)
    single = 500 / (time.perf_counter() - t)
    for start in range(0, runs, 1000):
        noop.enqueue_many([{"i": i} for i in range(start, min(runs, start + 1000))])
    proc = start_worker(url, 2, tmp)
    try:
        while not app.runs.list(states=[RunState.RUNNING, RunState.SUCCEEDED], limit=1):
            time.sleep(0.005)  # the worker's start is not the drain
        t0 = time.perf_counter()
        t1 = wait_done(app, runs + 500, 600)
        drain = (runs + 500) / (t1 - t0)
        lat = []
        for i in range(latency_runs):
            time.sleep(0.05)  # an idle worker between launches
            h = noop.enqueue(i=i)
            h.result(timeout=30, poll=0.002)
            run = h.run()
            assert run.started_at is not None
            lat.append((run.started_at - run.created_at).total_seconds() * 1000)
    finally:
        proc.terminate()
        proc.wait(30)
        app.close()
    got = {"single": single, "drain": drain, "p50": statistics.median(lat), "p95": pct(lat, 95)}
    print(
        f"{name:18} launch 1-by-1 {single:7,.0f}/s  drain {drain:7,.0f}/s  "
        f"enqueue->start p50 {got['p50']:6.1f} ms p95 {got['p95']:6.1f} ms",
        flush=True,
    )
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--direct", required=True, help="postgresql:// URL of the server")
    parser.add_argument("--pooled", help="URL of a PgBouncer in transaction mode (else started)")
    parser.add_argument("--runs", type=int, default=10_000, help="runs to drain per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=50)
    parser.add_argument(
        "--unprepared", action="store_true", help="also direct without prepared statements"
    )
    args = parser.parse_args()
    bouncer = None
    pooled = args.pooled
    if pooled is None:
        pooled, bouncer = start_pooler(args.direct)
    sep = "&" if "?" in pooled else "?"
    if "rota_pooler=" not in pooled:
        pooled += f"{sep}rota_pooler=transaction"
    ways = {
        "direct": args.direct,
        "pgbouncer (poll)": pooled,
        "pgbouncer+listen": f"{pooled}&rota_listen={quote(args.direct, safe='')}",
    }
    if args.unprepared:  # direct, but with what the pooler option turns off: prepared statements
        sep = "&" if "?" in args.direct else "?"
        listen = quote(args.direct, safe="")
        ways["direct unprepared"] = (
            f"{args.direct}{sep}rota_pooler=transaction&rota_listen={listen}"
        )
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    results: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
    try:
        for r in range(args.rounds):
            order = list(ways) if r % 2 == 0 else list(reversed(ways))
            for name in order:
                results[name].append(
                    one_round(name, ways[name], args.direct, args.runs, args.latency_runs, tmp)
                )
    finally:
        if bouncer is not None:
            bouncer.stop()  # type: ignore[attr-defined]
    print(f"\nmedians of {args.rounds} rounds, {args.runs + 500} runs drained per round:")
    for name, rows in results.items():
        med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
        print(
            f"{name:18} launch 1-by-1 {med['single']:7,.0f}/s  drain {med['drain']:7,.0f}/s  "
            f"enqueue->start p50 {med['p50']:6.1f} ms p95 {med['p95']:6.1f} ms"
        )


if __name__ == "__main__":
    main()
