"""What flow control costs a worker: drain rates of no-op runs with and without limits.

    python benchmarks/limits_drain.py --database sqlite:////tmp/rota-limits.db
    python benchmarks/limits_drain.py --database postgresql://postgres@127.0.0.1/rota_bench

Cases, interleaved round by round so that a drifting machine hits each alike, each reported
as the median of its rounds and as a ratio to (a):
  (a) no limits;
  (b) a per-key concurrency limit of 1 over 100 keys (keys launched round-robin);
  (c) a queue whose concurrency limit equals the worker's concurrency (when the backend has
      queue limits: ``app.queues.set``).
One worker process drains each case from a full queue, measured from its first start to the
last success. The database is emptied before every case: never point it at data to keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from throughput import reset, wait_done  # benchmarks/ is on sys.path when this file is run

import rota
from rota.runs import RunState

KEYS = 100

JOBS = """
import rota

def define(app: rota.App) -> None:
    @app.job
    def noop(i: int) -> None:
        return None

    @app.job(concurrency=1, concurrency_key="key")
    def keyed(key: int, i: int) -> None:
        return None

    @app.job(queue="capped")
    def capped(i: int) -> None:
        return None
"""

WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    import rota
    from limits_jobs import define
    app = rota.App(database=sys.argv[1])
    define(app)
    app.run_worker(concurrency=int(sys.argv[2]))
    """
)


def make_app(url: str, tmp: Path) -> rota.App:
    sys.path.insert(0, str(tmp))
    from limits_jobs import define  # type: ignore[import-not-found]

    app = rota.App(database=url)
    define(app)
    return app


def launch(app: rota.App, job: str, n: int, args: Callable[[int], dict[str, int]]) -> None:
    handle = app.get_job(job)
    for start in range(0, n, 1000):
        handle.enqueue_many([args(i) for i in range(start, min(n, start + 1000))])


def drain(url: str, case: str, n: int, concurrency: int, tmp: Path) -> float:
    reset(url)
    app = make_app(url, tmp)
    if case == "a":
        launch(app, "noop", n, lambda i: {"i": i})
    elif case == "b":
        launch(app, "keyed", n, lambda i: {"key": i % KEYS, "i": i})
    else:
        app.queues.set("capped", concurrency=concurrency)  # type: ignore[attr-defined]
        launch(app, "capped", n, lambda i: {"i": i})
    script = tmp / "limits_worker.py"
    script.write_text(WORKER_SCRIPT)
    argv = [sys.executable, str(script), url, str(concurrency), str(tmp)]
    proc = subprocess.Popen(argv)
    try:
        while not app.runs.list(states=[RunState.RUNNING, RunState.SUCCEEDED], limit=1):
            time.sleep(0.002)
        t0 = time.perf_counter()
        return n / (wait_done(app, n, 900, poll=0.02) - t0)
    finally:
        proc.terminate()
        proc.wait(30)
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=os.environ.get("ROTA_DATABASE_URL", "sqlite:////tmp/rota-limits.db")
    )
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="abc", help="which of a, b, c to run")
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"rota-limits-bench-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    (tmp / "limits_jobs.py").write_text(JOBS)
    cases = [c for c in "abc" if c in args.cases]
    if "c" in cases and not hasattr(rota.App(database=args.database), "queues"):
        print("(c) skipped: this rota has no queue limits (app.queues)")
        cases.remove("c")
    rates: dict[str, list[float]] = {c: [] for c in cases}
    print(
        f"backend {args.database.split(':')[0]}, {args.runs} runs per case, 1 worker of "
        f"concurrency {args.concurrency}, {args.rounds} rounds"
    )
    for r in range(args.rounds):
        for c in cases:
            rates[c].append(drain(args.database, c, args.runs, args.concurrency, tmp))
            print(f"  round {r + 1} ({c}): {rates[c][-1]:8,.0f} runs/s", flush=True)
    names = {
        "a": "(a) no limits",
        "b": f"(b) concurrency 1 per key, {KEYS} keys",
        "c": f"(c) queue concurrency {args.concurrency}",
    }
    base = statistics.median(rates["a"]) if "a" in rates else None
    for c in cases:
        med = statistics.median(rates[c])
        ratio = f"{med / base:6.0%} of (a)" if base else ""
        print(f"{names[c]:38s}: {med:8,.0f} runs/s  {ratio}")


if __name__ == "__main__":
    main()
