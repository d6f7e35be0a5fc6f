"""The run state machine: every allowed transition, and the forbidden ones refused."""

from __future__ import annotations

import itertools

import pytest

from rota.runs import (
    TERMINAL,
    WAITING,
    Event,
    InvalidTransition,
    RunState,
    allowed,
    states_accepting,
    transition,
)

S, E = RunState, Event

# The state diagram of the contract, written out independently of the implementation.
EXPECTED = {
    (S.SCHEDULED, E.DUE): S.QUEUED,
    (S.RETRYING, E.DUE): S.QUEUED,
    (S.QUEUED, E.CLAIM): S.RUNNING,
    (S.SCHEDULED, E.CLAIM): S.RUNNING,
    (S.RETRYING, E.CLAIM): S.RUNNING,
    (S.RUNNING, E.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, E.FAIL_RETRY): S.RETRYING,
    (S.RUNNING, E.FAIL_FINAL): S.FAILED,
    (S.QUEUED, E.CANCEL): S.CANCELLED,
    (S.SCHEDULED, E.CANCEL): S.CANCELLED,
    (S.RETRYING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.RESCUE_RETRY): S.QUEUED,
    (S.RUNNING, E.RESCUE_FINAL): S.FAILED,
    (S.FAILED, E.RETRY): S.QUEUED,
    (S.CANCELLED, E.RETRY): S.QUEUED,
}
FORBIDDEN = [pair for pair in itertools.product(S, E) if pair not in EXPECTED]


@pytest.mark.parametrize(("state", "event"), list(EXPECTED), ids=lambda x: str(x))
def test_allowed_transition(state: RunState, event: Event) -> None:
    assert transition(state, event) is EXPECTED[(state, event)]
    assert allowed(state, event)


@pytest.mark.parametrize(("state", "event"), FORBIDDEN, ids=lambda x: str(x))
def test_forbidden_transition(state: RunState, event: Event) -> None:
    assert not allowed(state, event)
    with pytest.raises(InvalidTransition, match=f"{state.value} run cannot take event"):
        transition(state, event)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.SUCCEEDED, E.RETRY),  # only failed or cancelled runs are retried
        (S.SUCCEEDED, E.CANCEL),
        (S.FAILED, E.CLAIM),
        (S.CANCELLED, E.CLAIM),
        (S.QUEUED, E.SUCCEED),  # a run ends only from running
        (S.QUEUED, E.DUE),
        (S.RUNNING, E.CLAIM),  # never claimed twice
        (S.QUEUED, E.RESCUE_RETRY),
    ],
)
def test_notable_forbidden_transitions(state: RunState, event: Event) -> None:
    with pytest.raises(InvalidTransition):
        transition(state, event)
    assert isinstance(InvalidTransition(), ValueError)


def test_terminal_states_accept_only_retry() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.CANCELLED} == TERMINAL
    for state, event in itertools.product(TERMINAL, E):
        assert allowed(state, event) == (event is E.RETRY and state is not S.SUCCEEDED)


def test_state_properties_and_string_values() -> None:
    assert [s.value for s in S] == [
        "scheduled",
        "queued",
        "running",
        "retrying",
        "succeeded",
        "failed",
        "cancelled",
    ]
    assert S.SUCCEEDED == "succeeded"  # a str enum: handle.state() == "succeeded" holds
    assert S("failed") is S.FAILED
    assert {s for s in S if s.terminal} == {S.SUCCEEDED, S.FAILED, S.CANCELLED}
    assert {s for s in S if s.waiting} == {S.SCHEDULED, S.QUEUED, S.RETRYING} == WAITING
    assert not S.RUNNING.terminal and not S.RUNNING.waiting


def test_states_accepting_builds_the_sql_guards() -> None:
    assert states_accepting(E.CLAIM) == WAITING
    assert states_accepting(E.CANCEL) == WAITING | {S.RUNNING}
    assert states_accepting(E.RETRY) == {S.FAILED, S.CANCELLED}
    assert states_accepting(E.SUCCEED) == {S.RUNNING}
    assert states_accepting(E.DUE) == {S.SCHEDULED, S.RETRYING}
