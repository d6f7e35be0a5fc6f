"""Conformance: both stores follow the transition table of rota.runs, pair by pair.

For each event, a run is set up in every state (and a running one with no attempt left, and a
batch one), the event is applied through the store verb that carries it, and the stored run
must be what ``rota.runs.decide`` says; a pair the table forbids leaves the row as it was.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from rota.runs import (
    ENDS_ATTEMPT,
    ErrorEntry,
    Event,
    Outcome,
    Run,
    RunState,
    allowed,
    decide,
    transition,
)
from rota.storage.base import (
    CancelParams,
    FinishParams,
    ReleaseParams,
    RescueParams,
    RetryParams,
    Store,
)
from rota.storage.workflow_store import WorkflowInsert

from .support import (
    NODE,
    T0,
    at,
    claim,
    error,
    failed,
    get,
    insert_one,
    new_run,
    retrying,
    succeeded,
)

NOW = at(1000)  # every lease of the set-up runs has expired by then; every run_at is due
DELAY = timedelta(seconds=7)
FINISH = frozenset({Event.SUCCEED, Event.FAIL, Event.DISCARD, Event.SNOOZE, Event.STOP})
WORKFLOW = frozenset({Event.RELEASE, Event.UPSTREAM_FAILED, Event.REOPEN})
"""Workflow events: the end of a step's upstream settles the step (release, upstream_failed),
the retry of a step reopens it; their pairs need a workflow around the run."""


def put(store: Store, state: RunState, max_attempts: int = 3, kind: str = "function") -> int:
    """A run brought into ``state`` through the store's own verbs."""
    if state in (RunState.WAITING, RunState.SCHEDULED, RunState.QUEUED):
        run_at = at(100) if state is RunState.SCHEDULED else at(0)
        new = new_run(max_attempts=max_attempts, run_at=run_at, state=state)
        return insert_one(store, dataclasses.replace(new, kind=kind))
    run_id = insert_one(store, dataclasses.replace(new_run(max_attempts=max_attempts), kind=kind))
    if state is RunState.CANCELLED:
        store.runs_cancel(CancelParams([run_id], at(1)))
        return run_id
    [run] = claim(store, run_id=run_id, lease=timedelta(seconds=30))
    ending = {
        RunState.RETRYING: lambda: retrying(run, at(2), next_at=at(50)),
        RunState.SUCCEEDED: lambda: succeeded(run, at(2), {"ok": 1}),
        RunState.FAILED: lambda: failed(run, at(2)),
    }
    if state is not RunState.RUNNING:
        assert store.runs_finish(FinishParams([ending[state]()])) == []
    return run_id


def put_step(store: Store, state: RunState, max_attempts: int = 3, kind: str = "function") -> int:
    """A step ``x`` in ``state``, after a step ``up`` still queued, in a workflow of its own;
    brought there through the store's verbs. Returns x's run id."""
    first = RunState.WAITING if state is RunState.WAITING else RunState.QUEUED
    run_at = at(0)
    if state is RunState.SCHEDULED:
        first, run_at = RunState.SCHEDULED, at(100)
    up = dataclasses.replace(new_run("up"), step="up")
    x = dataclasses.replace(
        new_run(max_attempts=max_attempts, run_at=run_at, state=first), kind=kind, step="x"
    )
    done = store.workflow_insert(WorkflowInsert("pair", [up, x], [(0, 1)], T0))
    run_id = done.run_ids[1]
    if state in (RunState.WAITING, RunState.SCHEDULED, RunState.QUEUED):
        return run_id
    if state is RunState.CANCELLED:
        store.runs_cancel(CancelParams([run_id], at(1)))
        return run_id
    [run] = claim(store, run_id=run_id, lease=timedelta(seconds=30))
    ending = {
        RunState.RETRYING: lambda: retrying(run, at(2), next_at=at(50)),
        RunState.SUCCEEDED: lambda: succeeded(run, at(2), {"ok": 1}),
        RunState.FAILED: lambda: failed(run, at(2)),
    }
    if state is not RunState.RUNNING:
        assert store.runs_finish(FinishParams([ending[state]()])) == []
    return run_id


def step_setups(store: Store) -> list[int]:
    ids = [put_step(store, state) for state in RunState]
    ids.append(put_step(store, RunState.RUNNING, max_attempts=1))
    ids.append(put_step(store, RunState.RUNNING, max_attempts=1, kind="batch"))
    return ids


def end_upstream(store: Store, step: Run, event: Event) -> None:
    """End the step's upstream ``up`` at NOW: a success releases, a failure dooms the step."""
    [up] = [s for s in store.workflows_get([step.workflow or 0])[0].steps if s.name == "up"]
    [run] = claim(store, run_id=up.run_id, now=at(500))
    end = succeeded(run, NOW) if event is Event.RELEASE else failed(run, NOW)
    assert store.runs_finish(FinishParams([end])) == []


def setups(store: Store) -> list[int]:
    ids = [put(store, state) for state in RunState]
    ids.append(put(store, RunState.RUNNING, max_attempts=1))  # no attempt left
    ids.append(put(store, RunState.RUNNING, max_attempts=1, kind="batch"))
    return ids


def outcome(run: Run, event: Event) -> Outcome:
    entry = error(run.attempt, NOW) if event in (Event.FAIL, Event.DISCARD) else None
    return Outcome.of(run, NODE, event, NOW, error=entry, delay=DELAY)


def apply_to(store: Store, event: Event, run: Run) -> None:
    """Apply ``event`` to ``run`` through the verb that carries it (not the global ones)."""
    if event in FINISH:
        store.runs_finish(FinishParams([outcome(run, event)]))
    elif event is Event.CLAIM:
        claim(store, run_id=run.id, now=NOW)
    elif event is Event.HAND_BACK:
        store.runs_release(ReleaseParams(NODE, [(run.id, run.attempt)]))
    elif event is Event.CANCEL:
        store.runs_cancel(CancelParams([run.id], NOW))
    elif event is Event.RETRY or event is Event.REOPEN:  # a workflow step's retry reopens
        store.runs_retry(RetryParams([run.id], NOW))
    elif event in (Event.RELEASE, Event.UPSTREAM_FAILED):
        end_upstream(store, run, event)


def apply_to_all(store: Store, event: Event) -> None:
    """The verbs that act on every run due for them at once."""
    if event is Event.DUE:
        store.runs_promote(NOW)
    elif event is Event.RESCUE:
        store.runs_rescue(RescueParams(NOW))


def entry(before: Run, event: Event) -> ErrorEntry | None:
    """The errors entry the event adds, as the store writes it."""
    if event in (Event.FAIL, Event.DISCARD):
        return error(before.attempt, NOW)
    if event is Event.UPSTREAM_FAILED:
        return ErrorEntry(before.attempt, "UpstreamFailed", "upstream step 'up' failed", "", NOW)
    return None


def check(before: Run, event: Event, after: Run) -> None:
    if not allowed(before.state, event):
        assert after == before, f"{before.state.value} took {event.value}, which is forbidden"
        return
    d = decide(
        before.state,
        event,
        attempt=before.attempt,
        max_attempts=before.max_attempts,
        now=NOW,
        error=entry(before, event),
        delay=DELAY,
        cancel_requested=before.cancel_requested,
        kind=before.kind,
        node_id=before.node_id,
    )
    batch_rescue = event is Event.RESCUE and before.kind == "batch"  # restarts, whatever its budget
    exhausted = before.attempt >= before.max_attempts and not batch_rescue
    assert after.state is d.state is transition(before.state, event, exhausted=exhausted)
    assert after.attempt == d.attempt
    assert after.max_attempts == (before.max_attempts if d.max_attempts is None else d.max_attempts)
    assert after.finished_at == d.finished_at
    assert after.run_at == (before.run_at if d.run_at is None else d.run_at)
    assert after.cancel_requested is d.cancel_requested
    added = [] if d.error is None else [d.error.to_json()]
    assert after.errors == before.errors + added
    assert (after.lease_expires_at is None) is (after.state is not RunState.RUNNING)


def test_every_event_has_a_store_verb_here() -> None:
    assert set(Event) == WORKFLOW | FINISH | {
        Event.DUE,
        Event.CLAIM,
        Event.HAND_BACK,
        Event.RESCUE,
        Event.CANCEL,
        Event.RETRY,
    }


@pytest.mark.parametrize("event", sorted(set(Event) - WORKFLOW), ids=str)
def test_the_store_follows_the_table(store: Store, event: Event) -> None:
    ids = setups(store)
    before = {run_id: get(store, run_id) for run_id in ids}
    assert {r.state for r in before.values()} == set(RunState)
    for run in before.values():
        apply_to(store, event, run)
    apply_to_all(store, event)
    for run_id, run in before.items():
        check(run, event, get(store, run_id))


@pytest.mark.parametrize("event", sorted(WORKFLOW), ids=str)
def test_the_store_follows_the_table_for_workflow_steps(store: Store, event: Event) -> None:
    """Each run is a step ``x`` after a step ``up``; ``up`` ends (release, upstream_failed)
    or ``x`` is retried (reopen, its upstream still queued: it waits again)."""
    ids = step_setups(store)
    before = {run_id: get(store, run_id) for run_id in ids}
    assert {r.state for r in before.values()} == set(RunState)
    for run in before.values():
        apply_to(store, event, run)
    for run_id, run in before.items():
        check(run, event, get(store, run_id))


@pytest.mark.parametrize("event", sorted(ENDS_ATTEMPT), ids=str)
def test_a_cancel_requested_while_running_wins_over_the_end(store: Store, event: Event) -> None:
    run_id = put(store, RunState.RUNNING)
    run = get(store, run_id)
    decided = outcome(run, event)  # decided before the request arrives, as a worker does
    assert store.runs_cancel(CancelParams([run_id], at(5))) == {run_id: RunState.RUNNING}
    if event is Event.RESCUE:
        store.runs_rescue(RescueParams(NOW))
    else:
        assert store.runs_finish(FinishParams([decided])) == []
    after = get(store, run_id)
    assert after.state is RunState.CANCELLED
    assert after.finished_at == NOW
    assert after.attempt == run.attempt  # the attempt ran: it counts, even a snooze's
    if event is Event.RESCUE:
        assert [e["type"] for e in after.errors] == ["WorkerLost"]
    if event is Event.SUCCEED:
        assert after.result is None  # no result given in this outcome
