"""A session left idle in a transaction that holds a queued run's row lock (PostgreSQL)."""

from __future__ import annotations

import signal
import time

import psycopg
import pytest

import rota
from tests.integration.procs import Marks, Procs, wait_started
from tests.integration.test_outage import DOWN, ended
from tests.support import wait_until


def state_of(url: str, pid: int) -> str | None:
    """The pg_stat_activity state of the session with backend ``pid``."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return None if row is None else str(row[0])


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_row_locked_run_is_skipped_not_waited_for(
    app: rota.App, procs: Procs, marks: Marks, database_url: str
) -> None:
    total = 100
    locked = app.enqueue("work", {"n": -1})  # first in claim order
    holder = psycopg.connect(database_url)  # not autocommit: its SELECT opens a transaction
    try:
        holder.execute("SELECT id FROM rota_runs WHERE id = %s FOR UPDATE", (locked.id,))
        assert state_of(database_url, holder.info.backend_pid) == "idle in transaction"
        ids = app.get_job("work").enqueue_many([{"n": i} for i in range(total)])
        worker = procs.spawn()
        wait_started(worker)

        drained = time.monotonic()
        worker.wait_for(
            lambda: ended(app).get(rota.RunState.SUCCEEDED) == total, 20, f"{total} other runs"
        )
        assert app.store.runs_count_by_state() == {
            rota.RunState.SUCCEEDED: total,
            rota.RunState.QUEUED: 1,
        }
        assert app.runs.get(locked.id).state == "queued"
        assert {r.id for r in app.runs.list(states=[rota.RunState.SUCCEEDED], limit=1000)} == set(
            ids
        )
        # a few more claim polls go by while the lock is held: still skipped, nothing waits
        time.sleep(3.0)
        assert app.runs.get(locked.id).state == "queued"
        assert state_of(database_url, holder.info.backend_pid) == "idle in transaction"
        held_for = time.monotonic() - drained
    finally:
        holder.rollback()
        holder.close()

    released = time.monotonic()
    run = wait_until(
        lambda: (r := app.runs.get(locked.id)).state.terminal and r, 10, "the locked run"
    )
    took = time.monotonic() - released
    assert run.state == "succeeded" and run.attempt == 1 and run.errors == []
    assert run.result == -1
    ran = [e for e in marks.effects() if e[1] == locked.id and e[0] == "done"]
    assert len(ran) == 1
    assert not DOWN.search(worker.log()), "a row lock is not an outage"
    print(
        f"\n{total} runs drained past a locked run held {held_for:.1f}s; claimed {took:.1f}s "
        "after release"
    )
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
