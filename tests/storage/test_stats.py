"""Conformance: the aggregate counts that /metrics reads."""

from __future__ import annotations

from rota.runs import RunState
from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import CancelParams, FinishParams, FireParams, RunCount, Store

from .support import T0, at, claim, insert, new_run, succeeded


def test_runs_by_state_and_queue(store: Store) -> None:
    assert store.runs_count_by_state_queue() == []
    insert(store, new_run(queue="a"), new_run(queue="a"), new_run(queue="b"))
    insert(store, new_run(queue="b", run_at=at(60)))
    [running] = claim(store, limit=1, queues=["a"])
    counts = {(c.state, c.queue): c.count for c in store.runs_count_by_state_queue()}
    assert counts == {
        (RunState.RUNNING, "a"): 1,
        (RunState.QUEUED, "a"): 1,
        (RunState.QUEUED, "b"): 1,
        (RunState.SCHEDULED, "b"): 1,
    }
    store.runs_finish(FinishParams([succeeded(running, at(1))]))
    after = store.runs_count_by_state_queue()
    assert RunCount(RunState.SUCCEEDED, "a", 1) in after
    assert sum(c.count for c in after) == 4
    assert all(c.state is not RunState.RUNNING for c in after)


def test_schedule_fire_counts(store: Store) -> None:
    assert store.schedule_fire_counts() == []
    store.schedules_upsert(
        Schedule(
            name="tick",
            job="send",
            kwargs={},
            trigger={"kind": "every", "every": 60.0, "cron": None, "at": None,
                     "anchor": T0.isoformat(), "timezone": "UTC"},
            trigger_key="every|60",
            misfire="run_once",
            misfire_grace=1.0,
            overlap=True,
            paused=False,
            source="stored",
            options={},
            next_fire_at=T0,
            created_at=T0,
            updated_at=T0,
        )
    )  # fmt: skip
    fired = store.schedule_fire(
        FireParams(
            name="tick",
            expected_next=T0,
            new_next=at(240),
            runs=[(at(180), new_run(schedule="tick"))],
            records=[FireRecord("tick", T0, "missed"), FireRecord("tick", at(60), "missed"),
                     FireRecord("tick", at(120), "skipped")],
            node_id="n",
            now=at(180),
        )
    )  # fmt: skip
    assert fired is not None and len(fired) == 1
    counts = {(c.schedule, c.outcome): c.count for c in store.schedule_fire_counts()}
    assert counts == {("tick", "missed"): 2, ("tick", "skipped"): 1, ("tick", "fired"): 1}
    store.runs_cancel(CancelParams(fired, at(181)))
