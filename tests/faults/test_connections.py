"""Every rota connection killed (``pg_terminate_backend``) while a worker drains and a
scheduler fires (PostgreSQL): nothing lost, duplicates only where at-least-once allows."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

import rota
from tests.integration.dbfaults import terminate_backends
from tests.integration.procs import Marks, Procs, wait_started
from tests.integration.test_outage import done_count, ended, list_runs
from tests.support import wait_until

BATCH = 100
TOTAL = 3 * BATCH
KILLS = 3


def ticks(app: rota.App) -> list[rota.Run]:
    """The schedule's runs; empty while the test's own connection is down."""
    return [r for r in list_runs(app) if r.schedule == "tick"]


def tick_ids(app: rota.App) -> set[int]:
    """The ids of the schedule's runs, read through the test's own outage."""

    def read() -> tuple[set[int]] | None:
        try:
            return ({r.id for r in app.runs.list(limit=1000) if r.schedule == "tick"},)
        except rota.StorageUnavailable:
            return None

    return wait_until(read, 10, "the schedule's runs")[0]


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_worker_and_scheduler_recover_from_killed_connections(
    app: rota.App, procs: Procs, marks: Marks, database_url: str
) -> None:
    app.add_schedule("tick", "work", every=1, kwargs={"n": -1})
    worker = procs.spawn(lease_seconds=2.0)
    scheduler = procs.spawn_node("scheduler", lease_seconds=2.0)
    wait_started(worker)
    wait_started(scheduler)
    scheduler.wait_for(lambda: ticks(app), 10, "the scheduler's first fire")
    work = app.get_job("work")
    ids: list[int] = []
    killed = 0
    for k in range(KILLS):  # an outage while runs flow and after the schedule fired again
        fired = tick_ids(app)
        goal = k * BATCH + BATCH // 3 + len(fired)  # tick runs write effects too
        ids += work.enqueue_many([{"n": i} for i in range(k * BATCH, (k + 1) * BATCH)])
        worker.wait_for(
            lambda g=goal: done_count(marks) >= g,
            30,
            "a third of a batch",
        )
        scheduler.wait_for(lambda f=fired: tick_ids(app) - f, 10, "a fire")
        killed += terminate_backends(database_url)
    last_kill = time.monotonic()
    assert killed >= 2 * KILLS, f"only {killed} connections killed: worker and scheduler each"
    fired_before = tick_ids(app)

    # both recover within a few seconds: the worker ends runs, the scheduler fires new ones
    worker.wait_for(
        lambda: ended(app).get(rota.RunState.SUCCEEDED, 0) >= TOTAL, 20, "every run to succeed"
    )
    drained_in = time.monotonic() - last_kill
    new_tick = scheduler.wait_for(
        lambda: [r for r in ticks(app) if r.id not in fired_before and r.state == "succeeded"],
        10,
        "a fire after the outage, run",
    )
    fired_in = time.monotonic() - last_kill
    assert drained_in < 15 and fired_in < 10, (drained_in, fired_in)
    assert new_tick

    assert scheduler.stop(signal.SIGTERM) == 0
    wait_until(
        lambda: not {s for s in ended(app) if not s.terminal} and ended(app), 20, "no run left"
    )
    assert worker.stop(signal.SIGTERM) == 0

    runs = {r.id: r for r in app.runs.list(limit=1000)}
    assert {r.state for r in runs.values()} == {rota.RunState.SUCCEEDED}
    assert set(ids) <= set(runs)
    fires = [r.run_at for r in runs.values() if r.schedule == "tick"]
    assert len(fires) == len(set(fires)), "a fire time launched twice"
    assert len(runs) == TOTAL + len(fires), "a run neither enqueued nor fired"

    effects = marks.effects()
    starts = Counter(r for k, r, _, _ in effects if k == "start")
    dones = Counter(r for k, r, _, _ in effects if k == "done")
    assert [i for i in runs if dones[i] == 0] == [], "a succeeded run never ran"
    rescued = {i for i, r in runs.items() if r.errors}
    again = {i for i in runs if starts[i] > 1}
    # at-least-once: a run ran again only if its worker lost it (outcome or lease unwritten)
    assert again <= rescued, again - rescued
    for i, run in runs.items():
        assert run.result == run.args["n"]
        if i not in rescued:
            assert run.attempt == 1 and starts[i] == dones[i] == 1, (run, starts[i], dones[i])
    down = " database unavailable, retrying with backoff"
    assert down in worker.log() and down in scheduler.log()
    print(
        f"\n{killed} connections killed in {KILLS} outages; {TOTAL} runs + {len(fires)} fires "
        f"succeeded; {len(rescued)} rescued, {len(again)} ran twice; drained "
        f"{drained_in:.1f}s and fired+ran {fired_in:.1f}s after the last kill"
    )
