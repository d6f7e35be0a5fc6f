"""Conformance: rescuing runs whose node stopped heartbeating."""

from __future__ import annotations

import threading
from datetime import timedelta

from rota.runs import Run, RunState
from rota.storage import open_store
from rota.storage.base import CancelParams, RescueParams, Store

from .support import NODE, at, claim, get, insert, insert_one, new_run


def rescue(store: Store, seconds: float, limit: int = 500) -> list[Run]:
    return store.runs_rescue(RescueParams(now=at(seconds), limit=limit))


def test_rescue_requeues_expired_lease_with_worker_lost_error(store: Store) -> None:
    run_id = insert_one(store, new_run(max_attempts=3))
    claim(store, lease=timedelta(seconds=30))

    [rescued] = rescue(store, 31)
    assert rescued.id == run_id
    assert rescued.state is RunState.QUEUED

    run = get(store, run_id)
    assert run.state is RunState.QUEUED
    assert run.attempt == 1  # the lost attempt counts
    assert run.lease_expires_at is None
    assert run.finished_at is None
    [entry] = run.errors
    assert entry["type"] == "WorkerLost"
    assert entry["attempt"] == 1
    assert NODE in entry["message"]

    [again] = claim(store, now=at(32))
    assert again.id == run_id and again.attempt == 2


def test_rescue_fails_the_run_when_no_attempts_are_left(store: Store) -> None:
    run_id = insert_one(store, new_run(max_attempts=2))
    claim(store, lease=timedelta(seconds=30))
    rescue(store, 31)
    claim(store, now=at(40), lease=timedelta(seconds=30))

    [rescued] = rescue(store, 71)
    assert rescued.state is RunState.FAILED
    run = get(store, run_id)
    assert run.state is RunState.FAILED
    assert run.finished_at == at(71)
    assert [(e["attempt"], e["type"]) for e in run.errors] == [(1, "WorkerLost"), (2, "WorkerLost")]
    assert claim(store, now=at(1000)) == []


def test_rescue_leaves_live_leases_and_other_states_alone(store: Store) -> None:
    short, long_, _queued = insert(store, new_run(), new_run(), new_run(run_at=at(1)))
    claim(store, run_id=short, lease=timedelta(seconds=10))
    claim(store, run_id=long_, lease=timedelta(seconds=100))

    assert rescue(store, 9) == []
    assert [r.id for r in rescue(store, 11)] == [short]
    assert get(store, long_).state is RunState.RUNNING
    assert get(store, long_).errors == []
    assert get(store, _queued).state is RunState.SCHEDULED


def test_rescue_twice_rescues_once(store: Store) -> None:
    run_id = insert_one(store)
    claim(store, lease=timedelta(seconds=5))
    assert [r.id for r in rescue(store, 10)] == [run_id]
    assert rescue(store, 10) == []
    assert rescue(store, 20) == []
    assert len(get(store, run_id).errors) == 1


def test_rescue_respects_limit(store: Store) -> None:
    insert(store, *[new_run() for _ in range(5)])
    claim(store, lease=timedelta(seconds=5))
    assert len(rescue(store, 10, limit=2)) == 2
    assert len(rescue(store, 10, limit=2)) == 2
    assert len(rescue(store, 10, limit=2)) == 1
    assert store.runs_count_by_state() == {RunState.QUEUED: 5}


def test_rescue_of_a_run_asked_to_cancel_ends_it_cancelled(store: Store) -> None:
    run_id = insert_one(store)
    claim(store, lease=timedelta(seconds=5))
    store.runs_cancel(CancelParams([run_id], at(1)))

    [rescued] = rescue(store, 10)
    assert rescued.state is RunState.CANCELLED
    assert get(store, run_id).finished_at == at(10)


def test_concurrent_rescuers_never_both_rescue(store: Store) -> None:
    ids = insert(store, *[new_run() for _ in range(200)])
    claim(store, limit=200, lease=timedelta(seconds=5))
    rescuers = 4
    start = threading.Barrier(rescuers)
    found: list[list[int]] = [[] for _ in range(rescuers)]
    problems: list[BaseException] = []

    def rescuer(n: int) -> None:
        own = open_store(store.url)
        try:
            start.wait(timeout=30)
            while batch := own.runs_rescue(RescueParams(now=at(10), limit=7)):
                found[n].extend(r.id for r in batch)
        except BaseException as exc:  # reported below
            problems.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=rescuer, args=(n,)) for n in range(rescuers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert problems == []
    everything = [i for part in found for i in part]
    assert sorted(everything) == sorted(ids)  # each exactly once
    for run_id in ids[::20]:
        assert len(get(store, run_id).errors) == 1
