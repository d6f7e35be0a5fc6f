"""Properties of ``rota.runs.decide``: attempt accounting, retry or fail, cancel wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rota.retry import decide_failure
from rota.runs import (
    ENDS_ATTEMPT,
    TERMINAL,
    Decision,
    ErrorEntry,
    Event,
    InvalidTransition,
    Outcome,
    Run,
    RunState,
    allowed,
    decide,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
states = st.sampled_from(list(RunState))
events = st.sampled_from(list(Event))
attempts = st.integers(min_value=0, max_value=50)
budgets = st.integers(min_value=1, max_value=50)
delays = st.integers(min_value=0, max_value=10**6).map(lambda s: timedelta(seconds=s))
kinds = st.sampled_from(["function", "batch"])
ENTRY = ErrorEntry(1, "ValueError", "boom", "", NOW)


def run(attempt: int, max_attempts: int, kind: str = "function") -> Run:
    return Run(
        id=1,
        job="j",
        queue="default",
        state=RunState.RUNNING,
        args={},
        priority=0,
        attempt=attempt,
        max_attempts=max_attempts,
        schedule=None,
        unique_key=None,
        run_at=NOW,
        created_at=NOW,
        started_at=NOW,
        finished_at=None,
        result=None,
        kind=kind,
    )


@given(states, events, attempts, budgets, delays, st.booleans(), kinds)
def test_a_decision_follows_the_table_and_its_accounting(
    state: RunState,
    event: Event,
    attempt: int,
    budget: int,
    delay: timedelta,
    cancel: bool,
    kind: str,
) -> None:
    def decision() -> Decision:
        return decide(
            state,
            event,
            attempt=attempt,
            max_attempts=budget,
            now=NOW,
            error=ENTRY,
            delay=delay,
            cancel_requested=cancel,
            kind=kind,
        )

    if not allowed(state, event):
        with pytest.raises(InvalidTransition):
            decision()
        return
    d = decision()
    cancel_wins = cancel and state is RunState.RUNNING and event in ENDS_ATTEMPT
    assert (d.finished_at is not None) is (d.state in TERMINAL)
    assert d.finished_at in (None, NOW)
    if cancel_wins:
        assert (d.state, d.attempt, d.finished_at) == (RunState.CANCELLED, attempt, NOW)
        if event not in (Event.SNOOZE, Event.HAND_BACK):  # kept: the error tells what happened
            assert d.error is not None
        return
    step = {Event.CLAIM: 1, Event.SNOOZE: -1, Event.HAND_BACK: -1}.get(event, 0)
    assert d.attempt == attempt + step
    if event is Event.RETRY:
        assert d.max_attempts is not None and d.max_attempts - d.attempt == budget  # fresh budget
        assert (d.state, d.run_at, d.cancel_requested) == (RunState.QUEUED, NOW, False)
    else:
        assert d.max_attempts is None
    if d.state in (RunState.RETRYING, RunState.SCHEDULED) and state is RunState.RUNNING:
        assert d.run_at == NOW + delay
    if state in TERMINAL:
        assert event is Event.RETRY  # nothing else leaves a terminal state


@given(attempts, budgets, delays, kinds)
def test_a_failed_attempt_retries_while_attempts_are_left(
    attempt: int, budget: int, delay: timedelta, kind: str
) -> None:
    d = decide(
        RunState.RUNNING,
        Event.FAIL,
        attempt=attempt,
        max_attempts=budget,
        now=NOW,
        error=ENTRY,
        delay=delay,
        kind=kind,
    )
    assert d.state is (RunState.FAILED if attempt >= budget else RunState.RETRYING)
    assert d.error == ENTRY
    assert decide_failure(attempt, budget).state is d.state  # one rule for both
    discard = decide(
        RunState.RUNNING, Event.DISCARD, attempt=attempt, max_attempts=budget, now=NOW, error=ENTRY
    )
    assert discard.state is RunState.FAILED
    assert decide_failure(attempt, budget, discard=True).state is RunState.FAILED


@given(attempts, budgets, kinds, st.sampled_from(["node-1", None]))
def test_a_rescue_counts_the_attempt_as_lost(
    attempt: int, budget: int, kind: str, node: str | None
) -> None:
    d = decide(
        RunState.RUNNING,
        Event.RESCUE,
        attempt=attempt,
        max_attempts=budget,
        now=NOW,
        kind=kind,
        node_id=node,
    )
    exhausted = attempt >= budget and kind != "batch"  # a batch run restarts from its commit
    assert d.state is (RunState.FAILED if exhausted else RunState.QUEUED)
    assert d.attempt == attempt
    assert d.error is not None
    assert (d.error.type, d.error.attempt, d.error.at) == ("WorkerLost", attempt, NOW)
    assert f"node {node or '?'} stopped heartbeating" in d.error.message


@given(st.sampled_from(sorted(ENDS_ATTEMPT - {Event.RESCUE} | {Event.STOP})), attempts, budgets)
def test_an_outcome_carries_its_cancelled_alternative(
    event: Event, attempt: int, budget: int
) -> None:
    o = Outcome.of(run(attempt, budget), "n", event, NOW, error=ENTRY, delay=timedelta(1))
    assert o.if_cancelled.state is RunState.CANCELLED
    assert o.if_cancelled.finished_at == NOW
    assert o.if_cancelled.attempt == attempt
    assert (
        o.if_cancelled.error
        == o.then.error
        == (None if event in (Event.SNOOZE, Event.HAND_BACK) else ENTRY)
    )
    assert o.state is o.then.state


def test_cancel_of_a_running_run_only_asks_it_to_stop() -> None:
    d = decide(RunState.RUNNING, Event.CANCEL, attempt=2, max_attempts=3, now=NOW)
    assert (d.state, d.attempt, d.cancel_requested, d.finished_at) == (
        RunState.RUNNING,
        2,
        True,
        None,
    )
    for state in (RunState.WAITING, RunState.SCHEDULED, RunState.QUEUED, RunState.RETRYING):
        d = decide(state, Event.CANCEL, attempt=1, max_attempts=3, now=NOW)
        assert (d.state, d.finished_at) == (RunState.CANCELLED, NOW)


def test_a_budget_is_needed_where_the_table_counts_attempts() -> None:
    for event in (Event.FAIL, Event.RESCUE):
        with pytest.raises(ValueError, match="max_attempts"):
            decide(RunState.RUNNING, event, attempt=1, max_attempts=None, now=NOW)
    with pytest.raises(ValueError, match="max_attempts"):
        decide(RunState.FAILED, Event.RETRY, attempt=1, max_attempts=None, now=NOW)
