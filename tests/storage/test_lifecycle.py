"""Conformance: delayed runs, promote, next due, manual retry, delete, purge, counts."""

from __future__ import annotations

from rota.runs import RunState
from rota.storage.base import (
    CancelParams,
    FinishParams,
    PurgeParams,
    RetryParams,
    Store,
)

from .support import (
    at,
    claim,
    failed,
    get,
    insert,
    insert_one,
    new_run,
    retrying,
    succeeded,
)

# -- delayed runs ---------------------------------------------------------------------------


def test_delayed_run_waits_for_its_run_at(store: Store) -> None:
    run_id = insert_one(store, new_run(run_at=at(90)))
    assert get(store, run_id).state is RunState.SCHEDULED

    assert claim(store, now=at(89)) == []
    [run] = claim(store, now=at(90))
    assert run.id == run_id and run.attempt == 1


def test_promote_moves_due_scheduled_and_retrying_runs_to_queued(store: Store) -> None:
    soon, later = insert(store, new_run(run_at=at(10)), new_run(run_at=at(100)))
    retry_id = insert_one(store)
    [run] = claim(store, run_id=retry_id)
    store.runs_finish(FinishParams([retrying(run, at(1), next_at=at(20))]))

    assert store.runs_promote(at(9)) == 0
    assert store.runs_promote(at(20)) == 2
    assert get(store, soon).state is RunState.QUEUED
    assert get(store, retry_id).state is RunState.QUEUED
    assert get(store, later).state is RunState.SCHEDULED
    assert store.runs_promote(at(20)) == 0

    [again] = claim(store, now=at(21), limit=1)
    assert again.id == soon  # run_at 10 before the retry's 20


# -- manual retry ---------------------------------------------------------------------------


def test_retry_puts_failed_and_cancelled_runs_back_to_queued(store: Store) -> None:
    fail_id, cancel_id, ok_id, waiting_id = insert(
        store, new_run(max_attempts=1), new_run(), new_run(), new_run(run_at=at(1))
    )
    [to_fail] = claim(store, run_id=fail_id)
    [to_succeed] = claim(store, run_id=ok_id)
    store.runs_finish(FinishParams([failed(to_fail, at(1)), succeeded(to_succeed, at(1), "ok")]))
    store.runs_cancel(CancelParams([cancel_id], at(1)))  # queued: ends at once

    got = store.runs_retry(RetryParams([fail_id, cancel_id, ok_id, waiting_id, 999999], at(5)))
    assert sorted(got) == sorted([fail_id, cancel_id])

    for run_id in (fail_id, cancel_id):
        run = get(store, run_id)
        assert run.state is RunState.QUEUED
        assert run.finished_at is None
        assert run.run_at == at(5)
        assert run.cancel_requested is False
        assert run.max_attempts > run.attempt  # it may run again
    assert get(store, fail_id).errors[0]["type"] == "Discard"  # history kept
    assert get(store, ok_id).state is RunState.SUCCEEDED
    assert get(store, waiting_id).state is RunState.SCHEDULED

    again = {r.id: r for r in claim(store, now=at(5))}
    assert set(again) == {fail_id, cancel_id, waiting_id}
    assert again[fail_id].attempt == 2
    store.runs_finish(FinishParams([succeeded(again[fail_id], at(6), "second time")]))
    assert get(store, fail_id).state is RunState.SUCCEEDED


def test_retry_of_a_run_cancelled_while_running(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    store.runs_cancel(CancelParams([run_id], at(1)))
    store.runs_finish(FinishParams([succeeded(run, at(2))]))
    assert get(store, run_id).state is RunState.CANCELLED

    assert store.runs_retry(RetryParams([run_id], at(3))) == [run_id]
    [again] = claim(store, now=at(3))
    store.runs_finish(FinishParams([succeeded(again, at(4), 1)]))
    assert get(store, run_id).state is RunState.SUCCEEDED  # the old request is gone


# -- delete and purge -----------------------------------------------------------------------


def test_delete_only_terminal_runs(store: Store) -> None:
    done_id, running_id, queued_id = insert(store, new_run(), new_run(), new_run())
    runs = {r.id: r for r in claim(store, limit=2)}
    store.runs_finish(FinishParams([succeeded(runs[done_id], at(1))]))

    assert store.runs_delete(running_id) is False
    assert store.runs_delete(queued_id) is False
    assert get(store, running_id).state is RunState.RUNNING
    assert get(store, queued_id).state is RunState.QUEUED

    assert store.runs_delete(done_id) is True
    assert store.runs_get(done_id) is None
    assert store.runs_delete(done_id) is False


def _ended(store: Store, state: RunState, finished: float) -> int:
    run_id = insert_one(store, new_run(max_attempts=1))
    [run] = claim(store, run_id=run_id)
    if state is RunState.SUCCEEDED:
        store.runs_finish(FinishParams([succeeded(run, at(finished))]))
    elif state is RunState.FAILED:
        store.runs_finish(FinishParams([failed(run, at(finished))]))
    else:
        store.runs_cancel(CancelParams([run_id], at(finished)))
        store.runs_finish(FinishParams([succeeded(run, at(finished))]))
    assert get(store, run_id).state is state
    return run_id


def test_purge_by_state_and_age(store: Store) -> None:
    old_ok = _ended(store, RunState.SUCCEEDED, 10)
    new_ok = _ended(store, RunState.SUCCEEDED, 100)
    old_failed = _ended(store, RunState.FAILED, 10)
    old_cancelled = _ended(store, RunState.CANCELLED, 10)
    queued = insert_one(store)

    assert store.runs_purge(PurgeParams([RunState.SUCCEEDED], finished_before=at(50))) == 1
    assert store.runs_get(old_ok) is None
    assert store.runs_get(new_ok) is not None
    assert store.runs_get(old_failed) is not None

    assert (
        store.runs_purge(PurgeParams([RunState.FAILED, RunState.CANCELLED], finished_before=None))
        == 2
    )
    assert store.runs_get(old_failed) is None
    assert store.runs_get(old_cancelled) is None
    assert store.runs_get(new_ok) is not None
    assert store.runs_get(queued) is not None


def test_purge_never_deletes_unfinished_runs(store: Store) -> None:
    queued = insert_one(store)
    running = insert_one(store)
    claim(store, run_id=running)
    got = store.runs_purge(
        PurgeParams([RunState.QUEUED, RunState.RUNNING], finished_before=at(10_000))
    )
    assert got == 0
    assert store.runs_get(queued) is not None
    assert store.runs_get(running) is not None


def test_purge_is_bounded_by_limit(store: Store) -> None:
    ids = insert(store, *[new_run() for _ in range(7)])
    store.runs_cancel(CancelParams(ids, at(1)))
    assert store.runs_purge(PurgeParams([RunState.CANCELLED], None, limit=3)) == 3
    assert store.runs_purge(PurgeParams([RunState.CANCELLED], None, limit=3)) == 3
    assert store.runs_purge(PurgeParams([RunState.CANCELLED], None, limit=3)) == 1
    assert store.runs_purge(PurgeParams([RunState.CANCELLED], None, limit=3)) == 0
    assert store.runs_count_by_state() == {}


def test_count_by_state(store: Store) -> None:
    assert store.runs_count_by_state() == {}
    insert(store, *[new_run() for _ in range(4)], new_run(run_at=at(60)))
    a, b = claim(store, limit=2)
    store.runs_finish(FinishParams([succeeded(a, at(1))]))

    counts = store.runs_count_by_state()
    assert counts == {
        RunState.QUEUED: 2,
        RunState.SCHEDULED: 1,
        RunState.RUNNING: 1,
        RunState.SUCCEEDED: 1,
    }
    assert all(isinstance(k, RunState) for k in counts)
    assert b.state is RunState.RUNNING
