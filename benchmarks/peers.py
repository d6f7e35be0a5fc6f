"""rota beside its peers on this machine, interleaved in one run: run on demand, not in CI.

Workloads, as ``rota bench`` runs them: enqueue one by one (2,000 runs), enqueue in bulk
(``--runs``, chunks of 1,000; Celery and Huey have no bulk enqueue), drain ``--runs`` no-op
runs with one worker of concurrency 2, and enqueue-to-start latency on an idle worker. rota's
figures and the bare SQL loops' come from ``rota bench --json``; each peer runs in its own
process (``peers_lib/<peer>_peer.py``). Each round runs every system once, in turn; the
table shows medians over rounds (and the range when there are several), then every figure
as a ratio rota/peer and rota/bare loop.

The peers live in a venv of their own, never in rota's test dependencies::

    python3 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install pgqueuer procrastinate celery redis huey rq asyncpg \\
        'psycopg[binary]' psycopg-pool
    /work/bench-venv/bin/pip install -e '.[postgres]'
    /work/bench-venv/bin/python benchmarks/peers.py --rounds 2 --runs 20000

Needs PostgreSQL (``--postgres``, a server where user postgres may create databases: it makes
and drops ``rota_bench_rota``, ``rota_bench_pgq`` and ``rota_bench_proc``) and Redis on
127.0.0.1:6379 (database 11 is emptied). Latency is measured by rota from its runs'
timestamps (created to started); for the peers, from just before the enqueue call to the
task's own start stamp (pushed to Redis), which counts the enqueue call against them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers_lib.common import fresh_postgres  # noqa: E402

SYSTEMS = ("rota-postgres", "pgqueuer", "procrastinate", "rota-sqlite", "huey", "celery", "rq")
FIGURES = ("enqueue", "bulk", "drain", "latency_p50", "latency_p99")
LABELS = {
    "enqueue": "enqueue one by one /s",
    "bulk": "bulk enqueue /s",
    "drain": "drain /s",
    "latency_p50": "enqueue-to-start p50 ms",
    "latency_p99": "enqueue-to-start p99 ms",
}


def rota_round(url: str, args: argparse.Namespace) -> dict[str, dict[str, float | None]]:
    """rota's figures and the bare loop's, from one ``rota bench --json`` on a fresh database."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
    else:
        fresh_postgres(url)
    rota = str(Path(sys.executable).with_name("rota"))
    command = [rota, "bench", "--database", url, "--runs", str(args.runs), "--json"]
    command += ["--latency-runs", str(args.latency_runs)]
    for workload in ("enqueue", "bulk", "drain", "latency"):
        command += ["--only", workload]
    out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    mine = {key: out[key]["rota"] for key in ("enqueue", "bulk", "drain")}
    mine |= {"latency_p50": out["latency"]["p50"], "latency_p99": out["latency"]["p99"]}
    bare = {key: out[key]["bare"] for key in ("enqueue", "bulk", "drain")}
    return {"rota": mine, "bare": bare}


def peer_round(system: str, args: argparse.Namespace) -> dict[str, float | None]:
    command = [sys.executable, "-m", "peers_lib.common", system, str(args.runs)]
    command += [str(args.each), str(args.latency_runs)]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE, env=env, check=False)
    if done.returncode != 0:  # one peer failing leaves the others' figures standing
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        print(f"  {system} failed: {tail}", file=sys.stderr, flush=True)
        return dict.fromkeys(FIGURES)
    figures: dict[str, float | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run_rounds(args: argparse.Namespace) -> dict[str, list[dict[str, float | None]]]:
    found: dict[str, list[dict[str, float | None]]] = {}
    for round_no in range(1, args.rounds + 1):
        for system in args.systems:
            print(f"round {round_no}: {system}", file=sys.stderr, flush=True)
            if system.startswith("rota-"):
                url = args.sqlite if system == "rota-sqlite" else args.postgres
                both = rota_round(url, args)
                found.setdefault(system, []).append(both["rota"])
                found.setdefault("bare-" + system[5:], []).append(both["bare"])
            else:
                found.setdefault(system, []).append(peer_round(system, args))
    return found


def median(rounds: list[dict[str, float | None]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(v for v in values if v is not None) if values else None


def cell(rounds: list[dict[str, float | None]], key: str) -> str:
    values = sorted(v for r in rounds if (v := r.get(key)) is not None)
    if not values:
        return "-"
    digits = 1 if key.startswith("latency") else 0
    text = f"{statistics.median(values):,.{digits}f}"
    if len(values) > 1:
        text += f" ({values[0]:,.{digits}f}-{values[-1]:,.{digits}f})"
    return text


def table(found: dict[str, list[dict[str, float | None]]]) -> str:
    columns = [
        s
        for s in (*SYSTEMS[:3], "bare-postgres", *SYSTEMS[3:5], "bare-sqlite", *SYSTEMS[5:])
        if s in found
    ]
    lines = ["| | " + " | ".join(columns) + " |", "|---" + "|---:" * len(columns) + "|"]
    for key in FIGURES:
        lines.append(
            f"| {LABELS[key]} | " + " | ".join(cell(found[c], key) for c in columns) + " |"
        )
    return "\n".join(lines)


def ratios(found: dict[str, list[dict[str, float | None]]]) -> str:
    """rota / other, each backend of rota against the others (latency: lower is better)."""
    pairs = [
        ("rota-postgres", other)
        for other in ("pgqueuer", "procrastinate", "bare-postgres", "celery", "rq")
    ] + [("rota-sqlite", other) for other in ("huey", "bare-sqlite", "celery", "rq")]
    pairs = [(a, b) for a, b in pairs if a in found and b in found]
    lines = ["| rota / other | " + " | ".join(f"{a[5:]} / {b}" for a, b in pairs) + " |"]
    lines.append("|---" + "|---:" * len(pairs) + "|")
    for key in FIGURES:
        row = []
        for a, b in pairs:
            mine, theirs = median(found[a], key), median(found[b], key)
            row.append("-" if mine is None or not theirs else f"{mine / theirs:.2f}")
        lines.append(f"| {LABELS[key]} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs bulk-enqueued and drained")
    parser.add_argument("--each", type=int, default=2_000, help="runs enqueued one by one")
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--sqlite", default="sqlite:////tmp/rota-peers.db")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/rota_bench_rota"
    )
    parser.add_argument("--out", type=Path, help="also write every round's figures as JSON")
    args = parser.parse_args()
    load = os.getloadavg()
    found = run_rounds(args)
    if args.out:
        args.out.write_text(json.dumps(found, indent=2))
    after = os.getloadavg()
    print(
        f"{args.rounds} round(s), {args.runs:,} runs, one worker of concurrency 2; load "
        f"average {load[0]:.2f} before, {after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f} after"
    )
    print()
    print(table(found))
    print()
    print(ratios(found))


if __name__ == "__main__":
    main()
