"""Every dashboard page's time, served by a real server over a table of --runs runs (1,000,000).

    python benchmarks/dashboard_pages.py --backend both
    python benchmarks/dashboard_pages.py --backend sqlite --keep      # reuse the seeded file
    python benchmarks/dashboard_pages.py --backend postgres \\
        --postgres postgresql://postgres@127.0.0.1:5432/rota_bench_pages

Per backend: empties the database, seeds it (five batch executions run through the app, then
--runs runs in one SQL statement, ``seed_runs``: most succeeded over the last --days days,
some failed with an error and its traceback, a backlog of queued runs and some scheduled,
retrying and running ones, seven jobs in five queues; then the app's three schedules, each
triggered twice), prints the plan of each query the overview reads (``overview_queries``), starts
``rota serve`` on the app of ``dashboard_app.py`` with a token, logs in through the form (the
session cookie) and requests each page --requests times after a warm-up, and each live region
the way rota.js polls it (the page again, with ``X-Rota-Live: 1``). ``GET /api/health``, in
the same run, is the baseline: the cost of HTTP and the framework with no database work.
Pages are requested in turn, round after round, so that load from elsewhere falls on all
alike. Prints the median and p95 in milliseconds of each, its ratio to the baseline's median,
and the machine's load average (p95 on a busy machine is mostly its scheduler). A search for
rare text reads ``rota.limits.SEARCH_SCOPE`` runs, not the table.
The database is emptied first unless --keep: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from batch_throughput import ensure_database  # benchmarks/ is on sys.path when run
from overview_queries import queries
from seed_runs import explain, seed
from throughput import reset

import rota
from rota.runs import RunState

HERE = Path(__file__).resolve().parent
APP_FILE = HERE / "dashboard_app.py"
TOKEN = "pagebench-token"
LIVE = {"X-Rota-Live": "1"}
TARGET_MS = 100.0
RARE = "user17@"  # in one old run's arguments: the search reads its whole scope
COMMON = "example.com"  # in every run's arguments: a search fills a page at once


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    live: bool = False


@dataclass(frozen=True)
class Timing:
    page: Page
    median: float
    p95: float


def load_app(url: str) -> rota.App:
    sys.path.insert(0, str(HERE))
    import dashboard_app

    app: rota.App = dashboard_app.app
    app.use_database(url)
    return app


def prepare(url: str, runs: int, days: float) -> None:
    """Empty ``url`` and seed it: batch executions, ``runs`` runs, schedules and their fires."""
    ensure_database(url)
    reset(url)
    app = load_app(url)
    for day in range(1, 6):
        app.enqueue("import_orders", {"day": f"2026-12-0{day}", "rows": 250})
    app.drain()  # the table holds only these runs yet: nothing else runs here
    start = time.perf_counter()
    seed(url, runs, datetime.now(UTC), days)
    print(f"seeded {runs} runs in {time.perf_counter() - start:.0f} s", flush=True)
    app.sync_schedules()
    for schedule in app.schedules.list():
        for _ in range(2):
            app.schedules.trigger(schedule.name)
    app.close()


def reads_the_table(plan: str) -> bool:
    """Whether a plan scans the runs table itself rather than an index of it."""
    for line in plan.splitlines():
        step = line.strip()
        if "Seq Scan on rota_runs" in step:  # PostgreSQL
            return True
        if re.match(r"SCAN (rota_runs|r)\b", step) and "INDEX" not in step:  # SQLite
            return True
    return False


def print_plans(url: str) -> bool:
    """The plan of each query the overview reads; whether each reads an index, not the table."""
    app = load_app(url)
    store = app.store
    stats = store.dialect.queries("stats.sql")  # type: ignore[attr-defined]
    indexed = True
    for name, _, params in queries(store, datetime.now(UTC)):
        plan = explain(url, stats[name], params)
        scans = reads_the_table(plan)
        indexed = indexed and not scans
        verdict = "READS THE TABLE" if scans else "reads indexes only"
        print(f"{name} ({verdict}):\n{plan}", flush=True)
    app.close()
    return indexed


def pages(url: str) -> list[Page]:
    """The dashboard's pages with ids and filters from the seeded database."""
    app = load_app(url)
    failed = app.runs.list(states=[RunState.FAILED], limit=1)[0]
    newest = app.runs.list(limit=1)[0]
    execution = app.batches.list(limit=1)[0]
    app.close()
    listed = [
        Page("overview", "/"),
        Page("runs", "/runs"),
        Page("runs, failed", "/runs?state=failed"),
        Page("runs of a job", "/runs?job=job_3"),
        Page("runs, a page halfway", f"/runs?before={newest.id // 2}"),
        Page(f"runs, search {RARE!r} (rare)", f"/runs?search={RARE}"),
        Page(f"runs, search {COMMON!r} (common)", f"/runs?search={COMMON}"),
        Page("a failed run", f"/runs/{failed.id}"),
        Page("schedules", "/schedules"),
        Page("batch", "/batch"),
        Page("a batch execution", f"/batch/{execution.id}"),
        Page("queues", "/queues"),
        Page("workflows", "/workflows"),
        Page("nodes", "/nodes"),
    ]
    live = ("/", "/runs", f"/runs/{failed.id}", "/schedules", "/batch", "/queues", "/nodes")
    live_pages = [Page(f"{p.label} (live)", p.path, True) for p in listed if p.path in live]
    execution_live = Page("a batch execution (live)", f"/batch/{execution.id}", True)
    return [*listed, *live_pages, execution_live]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(url: str, log: Path) -> Iterator[str]:
    """``rota serve`` on the benchmark app, with a token; yields its address."""
    port = free_port()
    rota_cmd = Path(sys.executable).with_name("rota")
    env = {**os.environ, "ROTA_API_TOKEN": TOKEN}
    env.pop("ROTA_API_READ_TOKEN", None)
    command = [str(rota_cmd), "--app", str(APP_FILE), "--database", url, "--log-level", "warning"]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [*command, "serve", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    address = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(address, popen, log)
        yield address
    finally:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def wait_healthy(address: str, popen: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{address}/api/health", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer within 60 s: {log.read_text()}")


def log_in(client: httpx.Client) -> None:
    """Post the login form, as a browser does; the client keeps the session cookie."""
    answer = client.post("/login", data={"token": TOKEN, "next": "/"})
    if answer.status_code != 303 or client.get("/").status_code != 200:
        raise SystemExit(f"logging in failed: {answer.status_code} {answer.text[:200]}")


def request(client: httpx.Client, page: Page) -> float:
    """One request's time in milliseconds, from sending it to its whole body read."""
    start = time.perf_counter()
    answer = client.get(page.path, headers=LIVE if page.live else {})
    elapsed = (time.perf_counter() - start) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"{page.path}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def measure(client: httpx.Client, targets: list[Page], requests: int) -> list[Timing]:
    """Two warm-up requests per page, then ``requests`` rounds over every page in turn, so
    that a burst of load from elsewhere on the machine falls on all pages alike."""
    times: dict[Page, list[float]] = {p: [] for p in targets}
    for p in targets:
        request(client, p)
        request(client, p)
    for _ in range(requests):
        for p in targets:
            times[p].append(request(client, p))
    timings = []
    for p in targets:
        got = times[p]
        p95 = statistics.quantiles(got, n=20)[18] if len(got) > 1 else got[0]
        timings.append(Timing(p, statistics.median(got), p95))
    return timings


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[Timing]:
    print(f"== {name}: {url}", flush=True)
    if not args.keep:
        prepare(url, args.runs, args.days)
    if not print_plans(url):
        print("an overview aggregate reads the table: see its plan above", flush=True)
    targets = pages(url)
    log = Path(args.workdir) / f"dashboard-pages-{name}.log"
    with server(url, log) as address, httpx.Client(base_url=address, timeout=60) as client:
        log_in(client)
        baseline = Page("GET /api/health (baseline)", "/api/health")
        timings = measure(client, [baseline, *targets], args.requests)
    print_table(name, timings)
    return timings


def print_table(name: str, timings: list[Timing]) -> None:
    base = timings[0].median
    width = max(len(t.page.label) for t in timings)
    print(f"\n{name}: median and p95 of each page's time (ms), ratio to the baseline's median")
    print(f"{'page':<{width}}  {'median':>8}  {'p95':>8}  {'ratio':>7}")
    for t in timings:
        flag = "  OVER" if t.p95 >= TARGET_MS else ""
        ratio = t.median / base
        print(f"{t.page.label:<{width}}  {t.median:8.1f}  {t.p95:8.1f}  {ratio:6.1f}x{flag}")
    over = [t.page.label for t in timings if t.p95 >= TARGET_MS]
    print(f"over {TARGET_MS:.0f} ms at p95: {', '.join(over) or 'none'}", flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after it (1, 5, 15 min; {os.cpu_count()} cores): {load}\n", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--requests", type=int, default=20, help="Timed requests per page.")
    parser.add_argument("--keep", action="store_true", help="Reuse a database seeded before.")
    parser.add_argument("--sqlite", default="sqlite:////tmp/rota-bench-pages.db")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/rota_bench_pages"
    )
    parser.add_argument("--workdir", default="/tmp", help="Where the server's log goes.")
    args = parser.parse_args()
    backends = {"sqlite": args.sqlite, "postgres": args.postgres}
    chosen = list(backends) if args.backend == "both" else [args.backend]
    over = 0
    for name in chosen:
        timings = run_backend(name, backends[name], args)
        over += sum(t.p95 >= TARGET_MS for t in timings)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
