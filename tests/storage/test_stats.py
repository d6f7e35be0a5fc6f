"""Conformance: the aggregates that /metrics and the dashboard's overview read."""

from __future__ import annotations

from datetime import timedelta

from rota.runs import RunState
from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import (
    CancelParams,
    FinishParams,
    FireParams,
    MinuteCount,
    QueueDue,
    RetryParams,
    RunCount,
    Store,
)

from .support import T0, at, claim, failed, insert, new_run, succeeded


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


def test_runs_counted_up_to_a_cap(store: Store) -> None:
    assert store.runs_count_by_state_queue_upto(2) == []
    insert(store, *(new_run(queue="a") for _ in range(5)), new_run(queue="b"))
    insert(store, new_run(queue="a", run_at=at(60)), new_run(queue="z", run_at=at(60)))
    claim(store, limit=1, queues=["b"])
    counts = {(c.state, c.queue): c.count for c in store.runs_count_by_state_queue_upto(2)}
    assert counts == {
        (RunState.QUEUED, "a"): 2,  # five, counted up to the cap
        (RunState.RUNNING, "b"): 1,
        (RunState.SCHEDULED, "a"): 1,
        (RunState.SCHEDULED, "z"): 1,
    }
    exact = {(c.state, c.queue): c.count for c in store.runs_count_by_state_queue()}
    big = {(c.state, c.queue): c.count for c in store.runs_count_by_state_queue_upto(1000)}
    assert big == exact and exact[(RunState.QUEUED, "a")] == 5


def test_runs_finished_per_minute(store: Store) -> None:
    ids = insert(store, *(new_run(queue=q) for q in ("a", "a", "b", "b", "c")))
    runs = claim(store, limit=5)
    assert sorted(r.id for r in runs) == ids
    by_id = {r.id: r for r in runs}
    ends = [  # the minute of T0 + 1 min gets one of each end; the ends bracket the window
        succeeded(by_id[ids[0]], at(60)),
        failed(by_id[ids[1]], at(119.999)),
        succeeded(by_id[ids[2]], at(180)),
        succeeded(by_id[ids[3]], at(59.9)),  # before the window
    ]
    store.runs_finish(FinishParams(ends))
    store.runs_cancel(CancelParams([ids[4]], at(61)))  # running: only asked to stop
    store.runs_finish(FinishParams([failed(by_id[ids[4]], at(90))]))  # cancel wins: cancelled

    got = store.runs_finished_per_minute(at(60), at(180))
    assert sorted(got, key=lambda m: m.state) == [
        MinuteCount(at(60), RunState.CANCELLED, 1),
        MinuteCount(at(60), RunState.FAILED, 1),
        MinuteCount(at(60), RunState.SUCCEEDED, 1),
    ]
    wide = {(m.minute, m.state): m.count for m in store.runs_finished_per_minute(at(0), at(240))}
    assert wide == {
        (at(0), RunState.SUCCEEDED): 1,
        (at(60), RunState.SUCCEEDED): 1,
        (at(60), RunState.FAILED): 1,
        (at(60), RunState.CANCELLED): 1,
        (at(180), RunState.SUCCEEDED): 1,
    }
    store.runs_retry(RetryParams([ids[1]], at(200)))  # queued again: no longer ended
    assert store.runs_finished_per_minute(at(120), at(180)) == []
    assert {m.state for m in store.runs_finished_per_minute(at(60), at(120))} == {
        RunState.SUCCEEDED,
        RunState.CANCELLED,
    }


def test_oldest_queued_run_per_queue_by_when_it_was_due(store: Store) -> None:
    assert store.runs_oldest_queued() == []
    insert(store, new_run(queue="a"), now=at(10))
    insert(store, new_run(queue="a", run_at=at(-3600)), now=at(5))  # due when created
    insert(store, new_run(queue="b", run_at=at(30)), now=at(20))  # scheduled: not queued
    insert(store, new_run(queue="c", run_at=at(40), state=RunState.QUEUED), now=at(20))
    insert(store, new_run(queue="d"), now=at(1))
    assert len(claim(store, limit=1, queues=["d"], now=at(2))) == 1  # d has none queued now
    oldest = sorted(store.runs_oldest_queued(), key=lambda q: q.queue)
    assert oldest == [QueueDue("a", at(5)), QueueDue("c", at(40))]

    store.runs_promote(at(30))  # the scheduled run of b is due: queued, due at its run_at
    oldest = {q.queue: q.due for q in store.runs_oldest_queued()}
    assert oldest == {"a": at(5), "b": at(30), "c": at(40)}
    assert all(due.utcoffset() == timedelta(0) for due in oldest.values())


def test_running_runs_per_node(store: Store) -> None:
    assert store.runs_running_per_node() == {}
    insert(store, *[new_run() for _ in range(5)])
    claim(store, node="node-1", limit=2)
    [theirs] = claim(store, node="node-2", limit=1)
    assert store.runs_running_per_node() == {"node-1": 2, "node-2": 1}
    store.runs_finish(FinishParams([succeeded(theirs, at(1), node="node-2")]))
    assert store.runs_running_per_node() == {"node-1": 2}
