"""A worker rides out database outages: killed connections (PostgreSQL), a locked file (SQLite)."""

from __future__ import annotations

import re
import signal
from collections import Counter

import pytest

import rota
from tests.integration.dbfaults import sqlite_exclusive_lock, terminate_backends
from tests.integration.procs import Marks, Procs, WorkerProcess, wait_started
from tests.support import wait_until

DOWN = re.compile(r" (\S+): database unavailable, retrying with backoff")
BACK = re.compile(r" (\S+): database is back after")


def ended(app: rota.App) -> dict[rota.RunState, int]:
    try:
        return app.store.runs_count_by_state()
    except rota.StorageUnavailable:  # the test's own connections may be hit as well
        return {}


def list_runs(app: rota.App) -> list[rota.Run]:
    try:
        return app.runs.list(limit=1000)
    except rota.StorageUnavailable:
        return []


def done_count(marks: Marks) -> int:
    return sum(1 for e in marks.effects() if e[0] == "done")


def outage_lines(worker: WorkerProcess) -> tuple[Counter[str], Counter[str]]:
    log = worker.log()
    return Counter(DOWN.findall(log)), Counter(BACK.findall(log))


@pytest.mark.slow
def test_worker_rides_out_a_database_outage(
    app: rota.App, procs: Procs, marks: Marks, backend: str, database_url: str
) -> None:
    total = 300
    # A lease longer than the outage: the point here is riding it out, not rescuing.
    worker = procs.spawn(lease_seconds=2.0 if backend == "postgres" else 60.0)
    wait_started(worker)
    ids = app.get_job("work").enqueue_many([{"n": i} for i in range(total)])

    if backend == "postgres":
        killed = 0
        for k in range(1, 4):  # three outages while runs are flowing
            wait_until(lambda k=k: done_count(marks) >= 50 * k, 30, f"{50 * k} runs done")
            killed += terminate_backends(database_url)
        assert killed >= 3, "no worker connection was killed"
    else:
        wait_until(lambda: done_count(marks) >= 50, 30, "50 runs done")
        with sqlite_exclusive_lock(database_url):
            # held until the worker noticed (its busy timeout) and said so: no fixed sleep
            wait_until(lambda: outage_lines(worker)[0], 30, "the worker to log the outage")
            assert ended(app).get(rota.RunState.SUCCEEDED, 0) < total

    wait_until(
        lambda: ended(app).get(rota.RunState.SUCCEEDED, 0) == total, 40, "every run to succeed"
    )
    assert ended(app) == {rota.RunState.SUCCEEDED: total}
    assert worker.alive()

    runs = wait_until(lambda: list_runs(app), 10, "the runs (through the test's own outage)")
    assert {r.id for r in runs} == set(ids)
    rescued = [r.id for r in runs if r.errors]
    down = outage_lines(worker)[0]
    assert down, "the worker logged no outage line"
    # one line when an outage begins and one when it ends, not a line per retry
    wait_until(lambda: outage_lines(worker)[1] == down, 10, "a 'back' line per outage")
    if backend == "sqlite":
        assert rescued == [], "no lease can expire: the worker only waited"
        assert set(down.values()) == {1}, f"one line per service: {down}"
    print(
        f"\n{backend}: {total} runs succeeded through the outage(s); outage lines {dict(down)}, "
        f"{len(rescued)} run(s) rescued after a lost connection"
    )
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
