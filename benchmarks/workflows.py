"""What a dependency edge between workflow steps costs: workflows against independent runs.

    python benchmarks/workflows.py --database sqlite:////tmp/rota-wf-bench.db
    python benchmarks/workflows.py --database postgresql://postgres@127.0.0.1/rota_bench

Cases, interleaved round by round so that a drifting machine hits each alike, each reported
as the median of its rounds:
  (a) baseline: N independent no-op runs enqueued in bulk (enqueue_many), for N = the steps of
      (b) and of (c);
  (b) fan-out/fan-in: one workflow of --steps steps, 1 root -> steps-2 in parallel -> 1 join;
  (c) --chains chains of 3 steps, each chain enqueued as its own workflow.
One worker process (the no-op worker of throughput.py) is started and warmed up on an empty
database; the clock runs from the start of the enqueue to the last step succeeded. The cost of
one dependency edge is (time(b or c) - time(a with as many runs)) / edges, in milliseconds: what
the edges add, their insert and every settle, over draining as many independent runs. The
database is emptied before every case: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from throughput import make_app, reset, start_worker, wait_done  # benchmarks/ is on sys.path

import rota


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    runs: int
    edges: int
    enqueue: Callable[[rota.App, rota.Job], None]


def independent(n: int) -> Callable[[rota.App, rota.Job], None]:
    def enqueue(app: rota.App, noop: rota.Job) -> None:
        for start in range(0, n, 1000):
            noop.enqueue_many([{"i": i} for i in range(start, min(n, start + 1000))])

    return enqueue


def fan(steps: int) -> Callable[[rota.App, rota.Job], None]:
    def enqueue(app: rota.App, noop: rota.Job) -> None:
        wf = rota.Workflow("fan")
        wf.add("root", noop, {"i": 0})
        middle = [wf.add(f"s{i}", noop, {"i": i}, after=["root"]) for i in range(1, steps - 1)]
        wf.add("join", noop, {"i": steps - 1}, after=middle)
        wf.enqueue()

    return enqueue


def chains(n: int) -> Callable[[rota.App, rota.Job], None]:
    def enqueue(app: rota.App, noop: rota.Job) -> None:
        for c in range(n):
            rota.chain(*[(noop, {"i": 3 * c + k}) for k in range(3)], name=f"chain {c}").enqueue()

    return enqueue


@dataclass(frozen=True)
class Timing:
    enqueue: float
    total: float


def measure(url: str, case: Case, concurrency: int, tmp: Path) -> Timing:
    """One case on an emptied database, with a fresh worker process warmed up by one run."""
    reset(url)
    app, noop = make_app(url)
    proc = start_worker(url, concurrency, tmp)
    try:
        noop.enqueue(i=-1).result(timeout=60, poll=0.005)  # the worker is up and idle
        t0 = time.perf_counter()
        case.enqueue(app, noop)
        enqueued = time.perf_counter()
        done = wait_done(app, case.runs + 1, 900, poll=0.01)
        return Timing(enqueued - t0, done - t0)
    finally:
        proc.terminate()
        proc.wait(30)
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", default=os.environ.get("ROTA_DATABASE_URL", "sqlite:////tmp/rota-wf-bench.db")
    )
    parser.add_argument("--steps", type=int, default=1000, help="steps of the fan-out (b)")
    parser.add_argument("--chains", type=int, default=1000, help="chains of 3 steps (c)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="bc", help="b, c or both (each with its baseline)")
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    fan_runs, chain_runs = args.steps, 3 * args.chains
    cases: list[Case] = []
    if "b" in args.cases:
        cases.append(Case("a1", f"(a) {fan_runs} runs", fan_runs, 0, independent(fan_runs)))
        title = f"(b) fan 1 -> {fan_runs - 2} -> 1"
        cases.append(Case("b", title, fan_runs, 2 * (fan_runs - 2), fan(fan_runs)))
    if "c" in args.cases:
        if chain_runs != fan_runs or "b" not in args.cases:
            title = f"(a) {chain_runs} runs"
            cases.append(Case("a3", title, chain_runs, 0, independent(chain_runs)))
        title = f"(c) {args.chains} chains of 3"
        cases.append(Case("c", title, chain_runs, 2 * args.chains, chains(args.chains)))
    baseline = {c.runs: c for c in cases if c.edges == 0}
    times: dict[str, list[Timing]] = {c.key: [] for c in cases}
    print(
        f"backend {args.database.split(':')[0]}, 1 worker of concurrency {args.concurrency}, "
        f"{args.rounds} rounds, python {sys.version.split()[0]}"
    )
    for r in range(args.rounds):
        for c in cases:
            t = measure(args.database, c, args.concurrency, tmp)
            times[c.key].append(t)
            print(
                f"  round {r + 1} {c.title:28s}: {t.total:7.2f} s (enqueue {t.enqueue:6.2f} s)",
                flush=True,
            )
    print(f"{'case':30s} {'total':>8s} {'enqueue':>8s} {'steps/s':>8s} {'ms/edge':>8s}")
    for c in cases:
        total = statistics.median(t.total for t in times[c.key])
        enq = statistics.median(t.enqueue for t in times[c.key])
        edge = ""
        if c.edges:
            base = statistics.median(t.total for t in times[baseline[c.runs].key])
            edge = f"{(total - base) / c.edges * 1000:8.2f}"
        print(f"{c.title:30s} {total:7.2f}s {enq:7.2f}s {c.runs / total:8,.0f} {edge:>8s}")


if __name__ == "__main__":
    main()
