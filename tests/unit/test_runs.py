"""The run state machine: every allowed transition, and the forbidden ones refused."""

from __future__ import annotations

import itertools

import pytest

from rota.runs import (
    CLAIMABLE,
    PENDING,
    TERMINAL,
    Event,
    InvalidTransition,
    RunState,
    allowed,
    states_accepting,
    transition,
    transitions,
)

S, E = RunState, Event

# The state diagram of the contract, written out independently of the implementation.
EXPECTED = {
    (S.WAITING, E.RELEASE): S.QUEUED,
    (S.WAITING, E.UPSTREAM_FAILED): S.CANCELLED,
    (S.SCHEDULED, E.DUE): S.QUEUED,
    (S.RETRYING, E.DUE): S.QUEUED,
    (S.QUEUED, E.CLAIM): S.RUNNING,
    (S.SCHEDULED, E.CLAIM): S.RUNNING,
    (S.RETRYING, E.CLAIM): S.RUNNING,
    (S.RUNNING, E.SUCCEED): S.SUCCEEDED,
    (S.RUNNING, E.FAIL): S.RETRYING,
    (S.RUNNING, E.DISCARD): S.FAILED,
    (S.RUNNING, E.SNOOZE): S.SCHEDULED,
    (S.RUNNING, E.STOP): S.CANCELLED,
    (S.RUNNING, E.HAND_BACK): S.QUEUED,
    (S.RUNNING, E.RESCUE): S.QUEUED,
    (S.WAITING, E.CANCEL): S.CANCELLED,
    (S.QUEUED, E.CANCEL): S.CANCELLED,
    (S.SCHEDULED, E.CANCEL): S.CANCELLED,
    (S.RETRYING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.CANCEL): S.RUNNING,  # a request: the run ends by STOP
    (S.FAILED, E.RETRY): S.QUEUED,
    (S.CANCELLED, E.RETRY): S.QUEUED,
    # a workflow step retried, and the ended steps after it: back to waiting for upstreams
    (S.FAILED, E.REOPEN): S.WAITING,
    (S.CANCELLED, E.REOPEN): S.WAITING,
}
EXHAUSTED = {(S.RUNNING, E.FAIL): S.FAILED, (S.RUNNING, E.RESCUE): S.FAILED}
FORBIDDEN = [pair for pair in itertools.product(S, E) if pair not in EXPECTED]


def test_the_table_is_the_expected_one() -> None:
    rows = {(s, e, x): to for s, e, x, to in transitions()}
    assert rows == {(s, e, False): to for (s, e), to in EXPECTED.items()} | {
        (s, e, True): to for (s, e), to in EXHAUSTED.items()
    }


@pytest.mark.parametrize(("state", "event"), list(EXHAUSTED), ids=lambda x: str(x))
def test_exhausted_attempts_end_failed(state: RunState, event: Event) -> None:
    assert transition(state, event, exhausted=True) is S.FAILED
    assert transition(state, E.SUCCEED, exhausted=True) is S.SUCCEEDED  # only FAIL and RESCUE


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
        (S.QUEUED, E.RESCUE),
        (S.WAITING, E.CLAIM),  # a workflow step starts only once released
        (S.WAITING, E.DUE),
        (S.QUEUED, E.SNOOZE),
    ],
)
def test_notable_forbidden_transitions(state: RunState, event: Event) -> None:
    with pytest.raises(InvalidTransition):
        transition(state, event)
    assert isinstance(InvalidTransition(), ValueError)


def test_terminal_states_accept_only_retry_and_reopen() -> None:
    assert {S.SUCCEEDED, S.FAILED, S.CANCELLED} == TERMINAL
    for state, event in itertools.product(TERMINAL, E):
        retried = event in (E.RETRY, E.REOPEN)
        assert allowed(state, event) == (retried and state is not S.SUCCEEDED)


def test_state_properties_and_string_values() -> None:
    assert [s.value for s in S] == [
        "waiting",
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
    assert {s for s in S if s.pending} == {S.WAITING, S.SCHEDULED, S.QUEUED, S.RETRYING} == PENDING
    assert not S.RUNNING.terminal and not S.RUNNING.pending


def test_states_accepting_builds_the_sql_guards() -> None:
    assert states_accepting(E.CLAIM) == CLAIMABLE == {S.SCHEDULED, S.QUEUED, S.RETRYING}
    assert states_accepting(E.CANCEL) == PENDING | {S.RUNNING}
    assert states_accepting(E.RETRY) == {S.FAILED, S.CANCELLED}
    assert states_accepting(E.SUCCEED) == {S.RUNNING}
    assert states_accepting(E.DUE) == {S.SCHEDULED, S.RETRYING}
    assert states_accepting(E.RELEASE) == {S.WAITING} == states_accepting(E.UPSTREAM_FAILED)
