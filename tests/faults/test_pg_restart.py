"""The PostgreSQL server restarted under load (PostgreSQL only): a ``rota worker`` draining
runs with a batch step in flight, a ``rota scheduler`` firing every second. After it: every run
ends and none is lost, each fire time is handled once with no gap, and the batch execution
completes with each chunk committed once.

The server is shared with other sessions: one restart per test, never a long stop, and the
server is started again (and waited for) whatever happens.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import rota
from tests.conftest import IN_CI
from tests.integration.procs import Marks, Procs, wait_started, wait_terminal
from tests.integration.test_batch_faults import execution, lines, load_step, safe_commits
from tests.integration.test_outage import done_count, ended
from tests.support import wait_until

TOTAL = 800  # with the ticks, within one page of 1000
ITEMS = 300  # slow_batch: 20 ms an item, chunks of 5
CLUSTERS = Path("/etc/postgresql")


def cluster() -> list[str]:
    """``pg_ctlcluster`` and the local cluster (version, name), or skip/fail without one."""
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(p.name for p in CLUSTERS.iterdir()) if CLUSTERS.is_dir() else []
    if ctl is None or not versions:
        reason = "no local PostgreSQL cluster to restart (pg_ctlcluster, /etc/postgresql)"
        if IN_CI:
            pytest.fail(f"CI must run the restart test: {reason}")
        pytest.skip(reason)
    return [ctl, "--skip-systemctl-redirect", versions[-1], "main"]


def ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


@pytest.fixture
def restart() -> Iterator[list[float]]:
    """The test's downtimes (it appends the one of its restart); at teardown the server is
    started if it is not up, and waited for, whatever happened."""
    ctl = cluster()
    downtimes: list[float] = []
    try:
        yield downtimes
    finally:
        if not ready():
            subprocess.run([*ctl, "start"], capture_output=True)
        wait_until(ready, 60, "PostgreSQL to be up again")


def started_at(url: str) -> object:
    """When the server (postmaster) started: a restart changes it."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    return row[0]


def restart_server(url: str) -> float:
    """Restart the server (fast shutdown, then start); the seconds it did not answer."""
    ctl = cluster()
    before = started_at(url)
    began = time.monotonic()
    done = subprocess.run([*ctl, "restart", "-m", "fast"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wait_until(ready, 30, "PostgreSQL to accept connections")
    downtime = time.monotonic() - began
    assert started_at(url) != before, "the server did not restart"
    return downtime


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_server_restart_under_load_loses_nothing(
    app: rota.App,
    procs: Procs,
    marks: Marks,
    tmp_path: Path,
    database_url: str,
    restart: list[float],
) -> None:
    app.add_schedule("tick", "work", every=1, kwargs={"n": -1})
    worker = procs.spawn_node("worker", "--concurrency", "4")
    scheduler = procs.spawn_node("scheduler")
    wait_started(worker)
    wait_started(scheduler)
    out = tmp_path / "out.jsonl"
    step = app.get_job("slow_batch").enqueue(count=ITEMS, out=str(out))
    ids = app.get_job("work").enqueue_many([{"n": i, "ms": 20} for i in range(TOTAL)])
    wait_until(lambda: safe_commits(app, step.id) >= 3, 30, "three committed chunks")
    wait_until(lambda: done_count(marks) >= 100, 30, "100 runs done")
    wait_until(lambda: len(app.schedules.fires("tick", limit=10)) >= 2, 10, "two fires")
    before = ended(app)
    assert before.get(rota.RunState.SUCCEEDED, 0) < TOTAL, "drained before the restart"
    assert load_step(execution(app, step.id)).state == "started", "the step not in flight"

    downtime = restart_server(database_url)
    restart.append(downtime)
    back = time.monotonic()

    batch = wait_terminal(app, step.id, 40)
    assert batch.state == "succeeded", batch.errors
    wait_until(
        lambda: ended(app).get(rota.RunState.SUCCEEDED, 0) >= TOTAL + 1, 40, "every run to end"
    )
    drained = time.monotonic() - back
    wait_until(lambda: fired_since(app, back) >= 3, 20, "three fires after the restart")
    assert scheduler.stop(signal.SIGTERM) == 0
    wait_until(lambda: (c := ended(app)) and all(s.terminal for s in c), 20, "the last tick to end")
    assert worker.stop(signal.SIGTERM) == 0

    again = check_runs(app, marks, ids)
    outcomes = check_fires(app)
    commits = check_batch(app, step.id, out)
    down = " database unavailable, retrying with backoff"
    assert down in worker.log() and down in scheduler.log(), "a node never saw the restart"
    assert "Traceback" not in worker.log() + scheduler.log()
    print(
        f"\nPostgreSQL down {downtime:.2f}s (restart command to pg_isready); {TOTAL} runs and "
        f"the batch ({commits} commits) ended {drained:.1f}s after; fires {dict(outcomes)}; "
        f"{len(again)} run(s) ran twice; before the restart {dict(before)}"
    )


def check_runs(app: rota.App, marks: Marks, ids: list[int]) -> set[int]:
    """Every run succeeded, none lost, and one ran twice only if it was lost by its worker;
    returns those that ran twice."""
    runs = {r.id: r for r in app.runs.list(limit=1000)}
    assert {r.state for r in runs.values()} == {rota.RunState.SUCCEEDED}
    assert set(ids) <= set(runs), "a run lost"
    ticks = {i for i, r in runs.items() if r.schedule == "tick"}
    assert len(runs) == TOTAL + 1 + len(ticks), "a run neither enqueued nor fired"
    dones = Counter(r for k, r, _, _ in marks.effects() if k == "done")
    assert [i for i in ids if dones[i] == 0] == [], "a succeeded run never ran"
    again = {i for i in runs if dones[i] > 1}
    assert again <= {i for i, r in runs.items() if r.errors}, "ran twice without losing it"
    return again


def check_fires(app: rota.App) -> Counter[str]:
    """Each fire time handled once, none skipped, each fire's run there; the outcomes."""
    fires = app.schedules.fires("tick", limit=1000)
    times = sorted(f.fire_time for f in fires)
    assert len(times) == len(set(times)), "a fire time handled twice"
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= timedelta(seconds=1), f"fire times skipped: {max(gaps)}"
    ticks = {r.id for r in app.runs.list(limit=1000) if r.schedule == "tick"}
    fired = {f.run_id for f in fires if f.run_id is not None}
    assert ticks == fired, "a tick run without its fire, or the reverse"
    return Counter(f.outcome for f in fires)


def check_batch(app: rota.App, run_id: int, out: Path) -> int:
    """The execution completed, each chunk committed once, each item written once."""
    ex = execution(app, run_id)
    load = load_step(ex)
    assert ex.state == "completed" and load.read == ITEMS
    assert load.commits == ITEMS // 5, f"{load.commits} chunk commits for {ITEMS // 5} chunks"
    assert [w["i"] for w in lines(out)] == list(range(ITEMS)), "an item written twice or never"
    return load.commits


def fired_since(app: rota.App, since: float) -> int:
    """Fires whose time came after the monotonic moment ``since`` (0 while unreadable)."""
    try:
        fires = app.schedules.fires("tick", limit=20)
    except rota.StorageUnavailable:
        return 0
    cutoff = time.time() - (time.monotonic() - since)
    return sum(1 for f in fires if f.fire_time.timestamp() > cutoff and f.outcome == "fired")
