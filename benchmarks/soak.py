"""Soak: many runs through worker and scheduler processes killed at random; nothing is lost.

    python benchmarks/soak.py --database postgresql://postgres@127.0.0.1/rota_soak --runs 1000000
    python benchmarks/soak.py --database postgresql://postgres@127.0.0.1/rota_soak --runs 100000 \
        --vacuum-every 30   # on a server whose autovacuum is off

PostgreSQL only. The database is emptied first: never point it at data to keep. Starts
``--workers`` ``rota worker`` processes and ``--schedulers`` ``rota scheduler`` processes on a
generated app (one job, ``work``, that appends its run id, attempt and pid to a file of its
process before returning; a schedule ``tick`` firing every second). Then, at once:
  - a producer launches ``--runs`` runs of ``work`` with ``enqueue_many`` in batches of
    ``--batch``, steadily at ``--rate`` runs/s;
  - a killer sends SIGKILL to a random worker every ``--kill-every`` seconds (on average,
    uniform between half and one and a half of it) and starts another in its place at once;
    worker 0 is never killed: its memory is the one measured from start to end;
  - a monitor samples, every 5 s, the rota tables' dead tuples and sizes (autovacuum on).
The server's ``autovacuum`` setting is printed; where it is off (a server of tests), a
``--vacuum-every`` of some seconds stands in for it with ``VACUUM (ANALYZE) rota_runs``.
When every run is launched the kills stop; the soak waits for every run to end (a killed
worker's runs come back when its lease, 30 s, expires) and prints a summary:
  - runs by state against runs launched (lost: launched but missing or not ended; must be 0);
  - executions per run from the files: a run executed twice is a duplicate, explained when
    each execution but the last ran in a killed process at a lower attempt and the run's errors
    hold a ``WorkerLost`` entry for that attempt (an unexplained duplicate is a bug);
  - the schedule: runs per fire time (exactly one each), handled fire times by outcome;
  - RSS of worker 0 and the schedulers after warm-up and at the end;
  - dead tuples and total size of each rota table, at their peak and at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg
from throughput import reset  # benchmarks/ is on sys.path when this file is run

import rota
from rota.storage import open_store

APP = textwrap.dedent(
    """
    import os
    import rota

    app = rota.App(database=os.environ["SOAK_DATABASE"])
    LOGS = os.environ["SOAK_LOGS"]
    _fd: dict[int, int] = {}


    @app.job(max_attempts=10)
    def work(i: int, ctx: rota.Context) -> None:
        pid = os.getpid()
        if pid not in _fd:
            _fd[pid] = os.open(f"{LOGS}/exec-{pid}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(_fd[pid], f"{ctx.run_id} {ctx.attempt} {pid}\\n".encode())


    @app.periodic(every=1, name="tick")
    def tick() -> None:
        return None
    """
)

TABLES = """
SELECT relname, n_live_tup, n_dead_tup, pg_total_relation_size(relid), autovacuum_count,
       autoanalyze_count
FROM pg_stat_user_tables WHERE relname LIKE 'rota%' ORDER BY relname
"""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Cluster:
    """The worker and scheduler processes, and the kills."""

    def __init__(self, args: argparse.Namespace, app_file: Path, env: dict[str, str]) -> None:
        self.args, self.env = args, env
        rota_bin = str(Path(sys.executable).parent / "rota")
        self.base = [rota_bin, "--app", str(app_file), "--database", args.database]
        self.workers = [self._worker() for _ in range(args.workers)]
        self.schedulers = [self._spawn(["scheduler"]) for _ in range(args.schedulers)]
        self.killed: dict[int, float] = {}  # pid -> when
        self.stop_kills = threading.Event()

    def _spawn(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = open(Path(self.env["SOAK_LOGS"]) / f"{cmd[0]}-{time.time_ns()}.out", "wb")  # noqa: SIM115
        return subprocess.Popen(self.base + cmd, env=self.env, stdout=log, stderr=log)

    def _worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(["worker", "--concurrency", str(self.args.concurrency)])

    def kill_loop(self) -> None:
        every = self.args.kill_every
        while not self.stop_kills.wait(random.uniform(every / 2, every * 1.5)):
            k = random.randrange(1, len(self.workers))  # worker 0 is the witness of memory
            victim = self.workers[k]
            victim.send_signal(signal.SIGKILL)
            self.killed[victim.pid] = time.time()
            self.workers[k] = self._worker()
            victim.wait()

    def rss(self) -> dict[str, int]:
        out = {"worker 0": rss_kb(self.workers[0].pid)}
        out.update({f"scheduler {i}": rss_kb(p.pid) for i, p in enumerate(self.schedulers)})
        return out

    def stop(self) -> None:
        procs = self.workers + self.schedulers
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


class Monitor:
    """Samples of the rota tables (dead tuples, sizes) and of run counts, every 5 s."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.peak: dict[str, tuple[int, int]] = {}  # table -> (dead tuples, bytes)
        self.stop = threading.Event()

    def tables(self) -> list[tuple[Any, ...]]:
        rows = self.conn.execute(TABLES).fetchall()
        for name, _, dead, size, _, _ in rows:
            d, s = self.peak.get(name, (0, 0))
            self.peak[name] = (max(d, dead), max(s, size))
        return rows

    def states(self) -> dict[str, int]:
        q = "SELECT state, count(*) FROM rota_runs WHERE job = 'work' GROUP BY state"
        return dict(self.conn.execute(q).fetchall())

    def loop(self, launched: list[int], cluster: Cluster, began: float, vacuum: float) -> None:
        last_vacuum = time.perf_counter()
        while not self.stop.wait(5):
            if vacuum and time.perf_counter() - last_vacuum >= vacuum:
                self.conn.execute("VACUUM (ANALYZE) rota_runs")  # autovacuum's stand-in
                last_vacuum = time.perf_counter()
            runs = {r[0]: r for r in self.tables()}.get("rota_runs")
            states = self.states()
            print(
                f"  {time.perf_counter() - began:6.0f}s launched {launched[0]:,} "
                f"kills {len(cluster.killed)} {json.dumps(states)} "
                f"runs dead tuples {runs[2] if runs else 0:,}",
                flush=True,
            )


def produce(work: rota.Job, args: argparse.Namespace, launched: list[int]) -> None:
    next_at, per = time.perf_counter(), args.batch / args.rate
    while launched[0] < args.runs:
        n = min(args.batch, args.runs - launched[0])
        work.enqueue_many([{"i": launched[0] + i} for i in range(n)])
        launched[0] += n
        next_at += per
        time.sleep(max(0.0, next_at - time.perf_counter()))


def executions(logs: Path) -> dict[int, list[tuple[int, int]]]:
    """Run id -> its executions (attempt, pid), from the job's files."""
    seen: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for f in logs.glob("exec-*.log"):
        for line in f.read_text().splitlines():
            run_id, attempt, pid = map(int, line.split())
            seen[run_id].append((attempt, pid))
    return seen


def duplicates(
    conn: psycopg.Connection[Any], seen: dict[int, list[tuple[int, int]]], killed: dict[int, float]
) -> tuple[int, int, list[str]]:
    """How many runs ran twice or more, how many of them a kill explains, and the others."""
    dups = {r: ex for r, ex in seen.items() if len(ex) > 1}
    rows = conn.execute(
        "SELECT id, errors FROM rota_runs WHERE id = ANY(%s)", [list(dups)]
    ).fetchall()
    errors = {rid: errs for rid, errs in rows}
    explained, others = 0, []
    for rid, ex in sorted(dups.items()):
        ex = sorted(ex)
        lost = {e["attempt"] for e in errors.get(rid, []) if e.get("type") == "WorkerLost"}
        attempts = [a for a, _ in ex]
        ok = len(set(attempts)) == len(attempts) and all(
            pid in killed and a in lost for a, pid in ex[:-1]
        )
        if ok:
            explained += 1
        else:
            others.append(f"run {rid}: executions (attempt, pid) {ex}, WorkerLost at {lost}")
    return len(dups), explained, others


def schedule_figures(conn: psycopg.Connection[Any]) -> list[str]:
    per_fire = conn.execute(
        "SELECT count(*), count(DISTINCT run_at), coalesce(max(n), 0) FROM "
        "(SELECT run_at, count(*) OVER (PARTITION BY run_at) AS n FROM rota_runs "
        " WHERE schedule = 'tick') t"
    ).fetchone()
    assert per_fire is not None
    outcomes = conn.execute(
        "SELECT outcome, count(*), min(fire_time), max(fire_time) FROM rota_schedule_fires "
        "WHERE schedule = 'tick' GROUP BY outcome ORDER BY outcome"
    ).fetchall()
    span = conn.execute(  # from the runs: the pruner deletes old fire history
        "SELECT extract(epoch FROM max(run_at) - min(run_at))::int + 1 "
        "FROM rota_runs WHERE schedule = 'tick'"
    ).fetchone()
    lines = [
        f"schedule tick: {per_fire[0]} runs for {per_fire[1]} fire times, at most "
        f"{per_fire[2]} run(s) per fire time (must be 1); {span[0] if span else 0} seconds "
        "from the first fire time to the last"
    ]
    lines += [f"  fire history left after pruning, {o}: {n}" for o, n, _, _ in outcomes]
    return lines


def table_lines(mon: Monitor, runs: int) -> list[str]:
    lines = ["tables (peak dead tuples / end; peak size / end; autovacuums, autoanalyzes):"]
    for name, live, dead, size, av, aa in mon.tables():
        if not size or (live == 0 and dead == 0 and name != "rota_runs"):
            continue
        pd, ps = mon.peak[name]
        lines.append(
            f"  {name:24} live {live:>9,}  dead {pd:>8,} / {dead:>8,}  "
            f"{ps / 2**20:8.1f} / {size / 2**20:8.1f} MiB  av {av} aa {aa}"
        )
    size = mon.peak.get("rota_runs", (0, 0))[1]
    lines.append(f"  rota_runs: {size / max(1, runs):.0f} bytes per run launched (with indexes)")
    return lines


def load_app(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("soak_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(0.5)


def run_states(mon: Monitor, launched: int, timeout: float) -> dict[str, int]:
    """Waits for every launched run to end; returns the runs by state."""
    ended = ("succeeded", "failed", "cancelled")

    def done() -> bool:
        states = mon.states()
        return sum(states.values()) >= launched and all(s in ended for s in states)

    try:
        wait_until(done, timeout, "every run ended")
    except TimeoutError as exc:
        print(f"!! {exc}")
    return mon.states()


def summary(args: argparse.Namespace, cluster: Cluster, mon: Monitor, ctx: dict[str, Any]) -> None:
    launched, states = ctx["launched"], ctx["states"]
    ended = sum(n for s, n in states.items() if s in ("succeeded", "failed", "cancelled"))
    seen = executions(ctx["logs"])
    n_dups, explained, others = duplicates(mon.conn, seen, cluster.killed)
    failed = mon.conn.execute(
        "SELECT e->>'type', count(*) FROM rota_runs, jsonb_array_elements(errors) e "
        "WHERE job = 'work' AND state = 'failed' GROUP BY 1"
    ).fetchall()
    lines = [
        f"soak: {launched:,} runs launched in {ctx['launch_s']:.0f}s, all ended after "
        f"{ctx['drain_s']:.0f}s; {args.workers} workers (concurrency {args.concurrency}), "
        f"{args.schedulers} schedulers, {len(cluster.killed)} kill -9 of a worker",
        f"runs by state: {json.dumps(states)}",
        f"lost: {launched - ended:,} (launched {launched:,}, ended {ended:,}; must be 0)",
        f"executed: {len(seen):,} runs, {sum(len(e) for e in seen.values()):,} executions; "
        f"succeeded never executed: {states.get('succeeded', 0) - len(seen):,}",
        f"duplicates: {n_dups:,} runs executed twice or more, {explained:,} explained by a kill",
        f"failed runs' errors by type: {dict(failed)}",
    ]
    lines += [f"  unexplained: {o}" for o in others[:10]]
    lines += schedule_figures(mon.conn)
    rss0, rss1 = ctx["rss_start"], ctx["rss_end"]
    lines += [f"RSS {k}: {rss0[k] / 1024:.1f} MiB -> {rss1[k] / 1024:.1f} MiB" for k in rss0]
    lines += table_lines(mon, launched)
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=2000, help="runs launched per second")
    parser.add_argument("--batch", type=int, default=500, help="runs per enqueue_many")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=5.0, help="seconds, on average")
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=0.0,
        help="seconds: VACUUM rota_runs that often (for a server whose autovacuum is off)",
    )
    args = parser.parse_args()
    reset(args.database)
    store = open_store(args.database)
    store.migrate()
    store.close()
    logs = Path(tempfile.mkdtemp(prefix="rota-soak-"))
    app_file = logs / "soak_app.py"
    app_file.write_text(APP)
    env = dict(os.environ, SOAK_DATABASE=args.database, SOAK_LOGS=str(logs))
    os.environ.update(env)
    module = load_app(app_file)
    with psycopg.connect(args.database) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()
    print(
        f"soak: {args.runs:,} runs; logs in {logs}; server autovacuum "
        f"{autovacuum[0] if autovacuum else '?'}, VACUUM every {args.vacuum_every or '-'} s",
        flush=True,
    )
    cluster = Cluster(args, app_file, env)
    mon = Monitor(args.database)
    q = "SELECT count(*) >= %s FROM rota_nodes WHERE stopped_at IS NULL"
    up = [args.workers + args.schedulers]
    wait_until(lambda: mon.conn.execute(q, up).fetchone() == (True,), 120, "nodes up")
    ctx = run_soak(args, cluster, mon, module)
    ctx["logs"] = logs
    summary(args, cluster, mon, ctx)
    module.app.close()


def run_soak(
    args: argparse.Namespace, cluster: Cluster, mon: Monitor, module: Any
) -> dict[str, Any]:
    launched, began = [0], time.perf_counter()
    threads = [
        threading.Thread(target=produce, args=(module.work, args, launched)),
        threading.Thread(target=cluster.kill_loop),
        threading.Thread(
            target=mon.loop, args=(launched, cluster, began, args.vacuum_every), daemon=True
        ),
    ]
    for t in threads:
        t.start()
    time.sleep(10)  # warm-up: imports done, pools open, first runs through
    rss_start = cluster.rss()
    threads[0].join()
    launch_s = time.perf_counter() - began
    cluster.stop_kills.set()
    threads[1].join()
    states = run_states(mon, launched[0], args.drain_timeout)
    rss_end = cluster.rss()
    mon.stop.set()
    cluster.stop()
    return {
        "launched": launched[0],
        "launch_s": launch_s,
        "drain_s": time.perf_counter() - began,
        "states": states,
        "rss_start": rss_start,
        "rss_end": rss_end,
    }


if __name__ == "__main__":
    main()
