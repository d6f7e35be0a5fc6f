"""Conformance: recording outcomes, fencing stale attempts, cancel, heartbeat, release, progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from rota.runs import Run, RunState
from rota.storage.base import (
    CancelParams,
    ClaimParams,
    FinishParams,
    HeartbeatParams,
    Outcome,
    ProgressParams,
    ReleaseParams,
    RescueParams,
    Store,
)

from .support import (
    NODE,
    OTHER_NODE,
    T0,
    at,
    cancelled,
    claim,
    failed,
    get,
    insert,
    insert_one,
    new_run,
    retrying,
    succeeded,
)


def finish(store: Store, *outcomes: Outcome) -> list[Outcome]:
    """Records outcomes; returns the refused ones."""
    return store.runs_finish(FinishParams(list(outcomes)))


def test_finish_succeeded_stores_result(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)

    assert finish(store, succeeded(run, at(3), {"sent": True, "n": [1, 2]})) == []

    done = get(store, run_id)
    assert done.state is RunState.SUCCEEDED
    assert done.result == {"sent": True, "n": [1, 2]}
    assert done.finished_at == at(3)
    assert done.started_at == T0
    assert done.attempt == 1
    assert done.errors == []
    assert done.lease_expires_at is None


def test_finish_retrying_appends_errors_and_waits(store: Store) -> None:
    run_id = insert_one(store, new_run(max_attempts=3))
    [run] = claim(store)
    assert finish(store, retrying(run, at(1), next_at=at(5))) == []

    waiting = get(store, run_id)
    assert waiting.state is RunState.RETRYING
    assert waiting.run_at == at(5)
    assert waiting.finished_at is None
    assert waiting.lease_expires_at is None
    assert [(e["attempt"], e["type"], e["message"]) for e in waiting.errors] == [
        (1, "ValueError", "boom")
    ]
    assert waiting.errors[0]["traceback"] == "Traceback..."
    assert waiting.errors[0]["at"] == at(1).isoformat()

    [second] = claim(store, now=at(5))
    assert second.attempt == 2
    assert finish(store, retrying(second, at(6), next_at=at(8))) == []
    assert [e["attempt"] for e in get(store, run_id).errors] == [1, 2]


def test_finish_failed_is_terminal(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    assert finish(store, failed(run, at(2))) == []

    done = get(store, run_id)
    assert done.state is RunState.FAILED
    assert done.finished_at == at(2)
    assert [e["type"] for e in done.errors] == ["Discard"]
    assert claim(store, now=at(100)) == []


def test_finish_many_outcomes_in_one_call(store: Store) -> None:
    a, b, c = insert(store, new_run(), new_run(), new_run())
    runs = {r.id: r for r in claim(store)}
    assert (
        finish(
            store,
            succeeded(runs[a], at(1), 1),
            failed(runs[b], at(1)),
            retrying(runs[c], at(1), next_at=at(9)),
        )
        == []
    )
    assert [get(store, i).state for i in (a, b, c)] == [
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.RETRYING,
    ]


def test_finish_of_a_run_not_running_is_refused(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    first = succeeded(run, at(1), "first")
    assert finish(store, first) == []
    late = failed(run, at(2))
    assert finish(store, late) == [late]  # a duplicate outcome never overwrites the end
    done = get(store, run_id)
    assert done.state is RunState.SUCCEEDED and done.result == "first"


def test_outcome_after_rescue_is_refused(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store, lease=timedelta(seconds=30))
    assert [r.id for r in store.runs_rescue(RescueParams(now=at(31)))] == [run_id]

    stale = succeeded(run, at(32), "too late")
    assert finish(store, stale) == [stale]
    after = get(store, run_id)
    assert after.state is RunState.QUEUED
    assert after.result is None and after.finished_at is None
    assert [e["type"] for e in after.errors] == ["WorkerLost"]


def test_outcome_of_a_node_that_lost_the_run_does_not_touch_the_new_holder(
    store: Store,
) -> None:
    run_id = insert_one(store)
    [mine] = claim(store, node=NODE, lease=timedelta(seconds=30))
    store.runs_rescue(RescueParams(now=at(31)))
    [theirs] = claim(store, node=OTHER_NODE, now=at(32))
    assert theirs.attempt == 2

    for stale in (succeeded(mine, at(33), "stale"), failed(mine, at(33)), cancelled(mine, at(33))):
        assert finish(store, stale) == [stale]
    # even the right attempt number from the wrong node is refused
    forged = succeeded(theirs, at(33), "forged", node=NODE)
    assert finish(store, forged) == [forged]

    held = get(store, run_id)
    assert held.state is RunState.RUNNING
    assert held.node_id == OTHER_NODE and held.attempt == 2
    assert held.result is None

    assert finish(store, succeeded(theirs, at(34), "mine now", node=OTHER_NODE)) == []
    assert get(store, run_id).result == "mine now"


def test_outcome_after_release_and_reclaim_with_same_attempt_is_refused(store: Store) -> None:
    run_id = insert_one(store)
    [mine] = claim(store, node=NODE)
    assert store.runs_release(ReleaseParams(NODE, [(run_id, 1)])) == 1
    [theirs] = claim(store, node=OTHER_NODE, now=at(1))
    assert theirs.attempt == mine.attempt == 1  # a release does not count the attempt

    stale = failed(mine, at(2))
    assert finish(store, stale) == [stale]
    assert get(store, run_id).state is RunState.RUNNING
    assert get(store, run_id).errors == []


def test_claim_records_outcomes_and_claims_in_one_call(store: Store) -> None:
    a, b, c = insert(store, new_run(), new_run(), new_run())
    [first] = claim(store, limit=1)
    assert first.id == a

    result = store.runs_claim(
        ClaimParams(
            node_id=NODE,
            queues=None,
            limit=2,
            now=at(1),
            lease_until=at(31),
            finish=[succeeded(first, at(1), "done")],
        )
    )
    assert [r.id for r in result.claimed] == [b, c]
    assert result.refused == []
    assert get(store, a).state is RunState.SUCCEEDED
    assert get(store, a).result == "done"


def test_claim_reports_refused_outcomes(store: Store) -> None:
    a, b = insert(store, new_run(), new_run(run_at=at(100)))
    [run] = claim(store, lease=timedelta(seconds=10))
    store.runs_rescue(RescueParams(now=at(11)))

    stale = succeeded(run, at(12))
    result = store.runs_claim(
        ClaimParams(
            node_id=NODE, queues=None, limit=5, now=at(12), lease_until=at(40), finish=[stale]
        )
    )
    assert result.refused == [stale]
    assert [r.id for r in result.claimed] == [a]  # rescued, so claimable again
    assert result.claimed[0].attempt == 2
    assert get(store, b).state is RunState.SCHEDULED


def test_claim_with_limit_zero_still_records_outcomes(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    result = store.runs_claim(
        ClaimParams(
            node_id=NODE,
            queues=None,
            limit=0,
            now=at(1),
            lease_until=at(31),
            finish=[succeeded(run, at(1), 5)],
        )
    )
    assert result.claimed == [] and result.refused == []
    assert get(store, run_id).state is RunState.SUCCEEDED


# -- cancel ---------------------------------------------------------------------------------


def retry_later(run: Run, now: datetime) -> Outcome:
    return retrying(run, now, next_at=now + timedelta(seconds=10))


@pytest.mark.parametrize(
    "outcome", [succeeded, failed, cancelled, retry_later], ids=lambda o: o.__name__
)
def test_cancel_requested_while_running_ends_cancelled(
    store: Store, outcome: Callable[[Run, datetime], Outcome]
) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    assert store.runs_cancel(CancelParams([run_id], at(1))) == {run_id: RunState.RUNNING}
    assert get(store, run_id).cancel_requested is True
    assert get(store, run_id).state is RunState.RUNNING  # cooperative: the job still runs

    record = outcome(run, at(2))
    assert finish(store, record) == []

    done = get(store, run_id)
    assert done.state is RunState.CANCELLED
    assert done.finished_at == at(2)
    assert claim(store, now=at(100)) == []


def test_cancel_ends_waiting_runs_at_once(store: Store) -> None:
    queued = insert_one(store)
    scheduled = insert_one(store, new_run(run_at=at(300)))
    retry_id = insert_one(store)
    [run] = claim(store, run_id=retry_id)
    finish(store, retrying(run, at(1), next_at=at(60)))

    got = store.runs_cancel(CancelParams([queued, scheduled, retry_id], at(2)))
    assert got == {
        queued: RunState.CANCELLED,
        scheduled: RunState.CANCELLED,
        retry_id: RunState.CANCELLED,
    }
    for run_id in (queued, scheduled, retry_id):
        done = get(store, run_id)
        assert done.state is RunState.CANCELLED
        assert done.finished_at == at(2)
    assert claim(store, now=at(1000)) == []


def test_cancel_leaves_terminal_and_unknown_runs_alone(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    finish(store, succeeded(run, at(1), "kept"))

    assert store.runs_cancel(CancelParams([run_id, 424242], at(2))) == {}
    done = get(store, run_id)
    assert done.state is RunState.SUCCEEDED and done.result == "kept"
    assert done.cancel_requested is False


# -- heartbeat ------------------------------------------------------------------------------


def test_heartbeat_extends_leases_of_the_holder_only(store: Store) -> None:
    a, b = insert(store, new_run(), new_run())
    claim(store, node=NODE, lease=timedelta(seconds=30))

    got = store.runs_heartbeat(
        HeartbeatParams(NODE, now=at(20), lease_until=at(80), run_ids=[a, b])
    )
    assert got == []
    assert get(store, a).lease_expires_at == at(80)
    assert get(store, b).lease_expires_at == at(80)
    assert store.runs_rescue(RescueParams(now=at(60))) == []

    store.runs_heartbeat(HeartbeatParams(OTHER_NODE, now=at(70), lease_until=at(500), run_ids=[a]))
    assert get(store, a).lease_expires_at == at(80)  # not the holder: no extension
    assert {r.id for r in store.runs_rescue(RescueParams(now=at(81)))} == {a, b}


def test_heartbeat_returns_runs_asked_to_cancel(store: Store) -> None:
    a, b, c = insert(store, new_run(), new_run(), new_run())
    claim(store)
    store.runs_cancel(CancelParams([b], at(1)))

    got = store.runs_heartbeat(
        HeartbeatParams(NODE, now=at(2), lease_until=at(32), run_ids=[a, b, c])
    )
    assert got == [b]
    assert get(store, b).lease_expires_at == at(32)


def test_heartbeat_of_nothing_is_nothing(store: Store) -> None:
    assert store.runs_heartbeat(HeartbeatParams(NODE, T0, at(30), [])) == []


# -- release --------------------------------------------------------------------------------


def test_release_hands_the_run_back_without_counting_the_attempt(store: Store) -> None:
    a, b = insert(store, new_run(), new_run())
    claim(store)

    assert store.runs_release(ReleaseParams(NODE, [(a, 1)])) == 1
    back = get(store, a)
    assert back.state is RunState.QUEUED
    assert back.attempt == 0
    assert back.lease_expires_at is None
    assert back.errors == []
    assert get(store, b).state is RunState.RUNNING

    [again] = claim(store, node=OTHER_NODE, now=at(1))
    assert again.id == a and again.attempt == 1


def test_release_only_by_the_holder_of_that_attempt(store: Store) -> None:
    run_id = insert_one(store)
    claim(store)
    assert store.runs_release(ReleaseParams(OTHER_NODE, [(run_id, 1)])) == 0
    assert store.runs_release(ReleaseParams(NODE, [(run_id, 2)])) == 0
    assert get(store, run_id).state is RunState.RUNNING
    assert store.runs_release(ReleaseParams(NODE, [(run_id, 1)])) == 1
    assert store.runs_release(ReleaseParams(NODE, [(run_id, 1)])) == 0


# -- progress -------------------------------------------------------------------------------


def test_progress_only_for_the_holding_attempt(store: Store) -> None:
    run_id = insert_one(store)
    assert not store.runs_progress(ProgressParams(run_id, 0, {"done": 1}))  # not running yet
    [run] = claim(store)

    progress = {"done": 3, "total": 10, "message": "loading"}
    assert store.runs_progress(ProgressParams(run_id, run.attempt, progress))
    assert get(store, run_id).progress == progress

    assert not store.runs_progress(ProgressParams(run_id, run.attempt + 1, {"done": 99}))
    assert get(store, run_id).progress == progress

    finish(store, succeeded(run, at(1)))
    assert not store.runs_progress(ProgressParams(run_id, run.attempt, {"done": 10}))
    assert get(store, run_id).progress == progress
    assert not store.runs_progress(ProgressParams(999999, 1, {"done": 1}))


def test_a_run_asked_to_cancel_and_handed_back_ends_cancelled_not_queued(store: Store) -> None:
    """A stopping node hands back a run whose cancel was requested while it ran: the cancel
    wins, so no other node claims and runs it again."""
    run_id = insert_one(store)
    claim(store)
    assert store.runs_cancel(CancelParams([run_id], T0))[run_id] == RunState.RUNNING
    assert store.runs_release(ReleaseParams(NODE, [(run_id, 1)], T0)) == 1
    run = store.runs_get(run_id)
    assert run is not None and run.state == RunState.CANCELLED and run.finished_at == T0
    assert claim(store, node=OTHER_NODE) == []
    # without a cancel request, a hand-back still goes back to the queue, attempt unused
    other = insert_one(store)
    claim(store)
    assert store.runs_release(ReleaseParams(NODE, [(other, 1)], T0)) == 1
    again = store.runs_get(other)
    assert again is not None and again.state == RunState.QUEUED and again.attempt == 0
