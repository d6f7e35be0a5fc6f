"""Conformance: a snooze written with the next claim (the worker's one round trip per cycle).

The state machine suite drives a snooze through ``runs_finish``; a busy worker writes it through
``runs_claim(finish=...)`` instead (``runs_finish_and_claim`` on PostgreSQL), so that path is
checked here: back to ``scheduled`` at its new time, the attempt given back, no entry, and
claimable again, by a claim or by promotion, once due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rota.runs import Event, Outcome, Run, RunState
from rota.storage.base import CancelParams, ClaimParams, ClaimResult, Store

from .support import NODE, OTHER_NODE, at, claim, get, insert_one, new_run, retrying

AFTER = timedelta(seconds=90)


def snoozed(run: Run, now: datetime, after: timedelta = AFTER) -> Outcome:
    return Outcome.of(run, NODE, Event.SNOOZE, now, delay=after)


def finish_and_claim(store: Store, now: datetime, *outcomes: Outcome) -> ClaimResult:
    return store.runs_claim(
        ClaimParams(
            node_id=NODE,
            queues=None,
            limit=5,
            now=now,
            lease_until=now + timedelta(seconds=30),
            finish=outcomes,
        )
    )


def test_a_snooze_written_with_the_next_claim_puts_the_run_back_uncounted(store: Store) -> None:
    run_id = insert_one(store, new_run(max_attempts=2))
    [run] = claim(store)
    assert run.attempt == 1

    result = finish_and_claim(store, at(5), snoozed(run, at(5)))

    assert result.refused == [] and result.claimed == []  # not due: nothing to claim
    after = get(store, run_id)
    assert after.state is RunState.SCHEDULED
    assert after.attempt == 0  # as before the claim: the attempt was not used
    assert after.run_at == at(5) + AFTER
    assert after.errors == [] and after.finished_at is None
    assert after.lease_expires_at is None


def test_a_snoozed_run_is_claimed_again_once_due_and_not_before(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    finish_and_claim(store, at(5), snoozed(run, at(5)))

    assert claim(store, now=at(5) + AFTER - timedelta(seconds=1)) == []
    [again] = claim(store, node=OTHER_NODE, now=at(5) + AFTER)

    assert again.id == run_id and again.state is RunState.RUNNING
    assert again.attempt == 1  # the same attempt number as the snoozed one: it was given back
    assert again.node_id == OTHER_NODE


def test_a_due_snoozed_run_is_promoted_to_queued(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    finish_and_claim(store, at(5), snoozed(run, at(5)))

    store.runs_promote(at(5) + AFTER - timedelta(seconds=1))
    assert get(store, run_id).state is RunState.SCHEDULED
    store.runs_promote(at(5) + AFTER)
    assert get(store, run_id).state is RunState.QUEUED


def test_a_snooze_after_a_failed_attempt_keeps_its_entry_and_count(store: Store) -> None:
    run_id = insert_one(store, new_run(max_attempts=3))
    [first] = claim(store)
    finish_and_claim(store, at(1), retrying(first, at(1), next_at=at(2)))
    [second] = claim(store, now=at(2))
    assert second.attempt == 2

    finish_and_claim(store, at(3), snoozed(second, at(3)))

    after = get(store, run_id)
    assert after.state is RunState.SCHEDULED
    assert after.attempt == 1  # one failed attempt, still counted; the snoozed one is not
    assert [e["attempt"] for e in after.errors] == [1]


def test_a_cancel_requested_meanwhile_wins_over_a_snooze_written_with_a_claim(
    store: Store,
) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    decided = snoozed(run, at(5))  # decided by the worker before the request arrives
    assert store.runs_cancel(CancelParams([run_id], at(4))) == {run_id: RunState.RUNNING}

    assert finish_and_claim(store, at(5), decided).refused == []

    after = get(store, run_id)
    assert after.state is RunState.CANCELLED
    assert after.attempt == 1 and after.errors == []
    assert after.finished_at == at(5)
    assert after.run_at == run.run_at  # not moved: the run will not run again
