"""Runs: their states, the one transition table, the decisions it yields, and outcomes.

This module is the single source of the run state machine: ``_TABLE`` says which event moves
a run from which state to which, and ``decide`` turns an event into the explicit values a
store writes (state, attempt count, budget, times, the error entry). The stores never decide:
their SQL writes these values behind compare-and-set guards (``WHERE id = ? AND state = ?
AND attempt = ? ...``), so a pair the table forbids leaves the row unchanged. The conformance
suite (tests/storage/test_state_machine.py) drives every pair through both backends.

State diagram (events on the arrows)::

    waiting --release--> queued            waiting --upstream_failed--> cancelled
    scheduled/retrying --due--> queued     queued/scheduled/retrying --claim--> running
    running --succeed--> succeeded         running --fail--> retrying | failed (none left)
    running --discard--> failed            running --snooze--> scheduled (attempt not used)
    running --hand_back--> queued (attempt not used)
    running --rescue--> queued | failed (none left; a batch run always goes back to queued)
    waiting/scheduled/queued/retrying --cancel--> cancelled
    running --cancel--> running, asked to stop; then --stop--> cancelled
    failed/cancelled --retry--> queued (a fresh budget of attempts)
    failed/cancelled --reopen--> waiting (a workflow step retried, or one after it: a fresh
        budget; it is released or cancelled again by its upstreams' states)

Cancel wins: an attempt that ends (succeed, fail, discard, snooze, rescue) after a cancel was
requested ends by ``stop`` instead. That flag is set by another process while the attempt
runs, so it is the one thing only the database knows at write time: an ``Outcome`` carries
both decisions, ``then`` and ``if_cancelled``, and the finish statement picks one by the row's
cancel flag inside the same guarded UPDATE (race-free, no retry, one round trip). Rescue reads
the flag with the row and guards on it instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

JSON = Any


class RunState(enum.StrEnum):
    """A run's state; a ``str`` enum, so ``state == "failed"`` holds. See docs/concepts.md."""

    WAITING = "waiting"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Ended: succeeded, failed or cancelled (only a retry moves it again)."""
        return self in TERMINAL

    @property
    def pending(self) -> bool:
        """Not started yet: a cancel ends it at once."""
        return self in PENDING


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
CLAIMABLE = frozenset({RunState.SCHEDULED, RunState.QUEUED, RunState.RETRYING})
"""The states a claim takes a run from, once its ``run_at`` is due."""
PENDING = CLAIMABLE | {RunState.WAITING}


class Event(enum.StrEnum):
    RELEASE = "release"  # every upstream step of a workflow step succeeded
    UPSTREAM_FAILED = "upstream_failed"  # an upstream step ended failed or cancelled
    DUE = "due"
    CLAIM = "claim"
    SUCCEED = "succeed"
    FAIL = "fail"  # a failed attempt: retried while attempts are left
    DISCARD = "discard"  # a failed attempt never retried (rota.Discard, an unstorable outcome)
    SNOOZE = "snooze"
    STOP = "stop"  # the attempt ended after a cancel request
    HAND_BACK = "hand_back"  # a stopping node (or rota.HandBack) returns a run unattempted
    RESCUE = "rescue"  # the holder's lease expired: its attempt counts as failed (WorkerLost)
    CANCEL = "cancel"
    RETRY = "retry"  # a manual retry of a failed or cancelled run
    REOPEN = "reopen"  # the retry of a workflow step (and of the steps after it)


_S, _E = RunState, Event
_TABLE: dict[tuple[RunState, Event], RunState] = {
    (_S.WAITING, _E.RELEASE): _S.QUEUED,
    (_S.WAITING, _E.UPSTREAM_FAILED): _S.CANCELLED,
    (_S.SCHEDULED, _E.DUE): _S.QUEUED,
    (_S.RETRYING, _E.DUE): _S.QUEUED,
    (_S.QUEUED, _E.CLAIM): _S.RUNNING,
    (_S.SCHEDULED, _E.CLAIM): _S.RUNNING,
    (_S.RETRYING, _E.CLAIM): _S.RUNNING,
    (_S.RUNNING, _E.SUCCEED): _S.SUCCEEDED,
    (_S.RUNNING, _E.FAIL): _S.RETRYING,
    (_S.RUNNING, _E.DISCARD): _S.FAILED,
    (_S.RUNNING, _E.SNOOZE): _S.SCHEDULED,
    (_S.RUNNING, _E.STOP): _S.CANCELLED,
    (_S.RUNNING, _E.HAND_BACK): _S.QUEUED,
    (_S.RUNNING, _E.RESCUE): _S.QUEUED,
    (_S.WAITING, _E.CANCEL): _S.CANCELLED,
    (_S.SCHEDULED, _E.CANCEL): _S.CANCELLED,
    (_S.QUEUED, _E.CANCEL): _S.CANCELLED,
    (_S.RETRYING, _E.CANCEL): _S.CANCELLED,
    (_S.RUNNING, _E.CANCEL): _S.RUNNING,  # asked to stop: ends by STOP when its attempt ends
    (_S.FAILED, _E.RETRY): _S.QUEUED,
    (_S.CANCELLED, _E.RETRY): _S.QUEUED,
    (_S.FAILED, _E.REOPEN): _S.WAITING,
    (_S.CANCELLED, _E.REOPEN): _S.WAITING,
}
_EXHAUSTED: dict[tuple[RunState, Event], RunState] = {
    (_S.RUNNING, _E.FAIL): _S.FAILED,
    (_S.RUNNING, _E.RESCUE): _S.FAILED,
}
"""Where the pairs that use up an attempt lead when the run has no attempt left."""
ENDS_ATTEMPT = frozenset({_E.SUCCEED, _E.FAIL, _E.DISCARD, _E.SNOOZE, _E.RESCUE, _E.HAND_BACK})
"""The events a cancel request wins over (they end the attempt; STOP takes their place): a
run asked to cancel and then handed back ends cancelled, it does not run again elsewhere."""
_BUDGETED = frozenset({_E.FAIL, _E.RESCUE, _E.RETRY, _E.REOPEN})  # decided by the attempt budget
_UNUSED = frozenset({_E.SNOOZE, _E.HAND_BACK})  # the attempt is not counted


class InvalidTransition(ValueError):
    pass


def transition(state: RunState, event: Event, *, exhausted: bool = False) -> RunState:
    """The state a run moves to on ``event``; raises InvalidTransition if it may not.

    ``exhausted``: the run has no attempt left (only FAIL and RESCUE care).
    """
    key = (state, event)
    if exhausted and key in _EXHAUSTED:
        return _EXHAUSTED[key]
    try:
        return _TABLE[key]
    except KeyError:
        raise InvalidTransition(f"a {state.value} run cannot take event {event.value}") from None


def allowed(state: RunState, event: Event) -> bool:
    return (state, event) in _TABLE


def states_accepting(event: Event) -> frozenset[RunState]:
    """Every state from which ``event`` is allowed (what the stores' SQL guards must say)."""
    return frozenset(s for (s, e) in _TABLE if e is event)


RETRYABLE = states_accepting(Event.RETRY)
"""The states a manual retry takes a run (or a workflow step) from: failed and cancelled."""


def transitions() -> list[tuple[RunState, Event, bool, RunState]]:
    """The whole table: (state, event, exhausted, new state), for docs and conformance."""
    rows = [(s, e, False, to) for (s, e), to in _TABLE.items()]
    return rows + [(s, e, True, to) for (s, e), to in _EXHAUSTED.items()]


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    attempt: int
    type: str
    message: str
    traceback: str
    at: datetime

    def to_json(self) -> dict[str, JSON]:
        return {
            "attempt": self.attempt,
            "type": self.type,
            "message": self.message,
            "traceback": self.traceback,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    job: str
    queue: str
    state: RunState
    args: dict[str, JSON]
    priority: int
    attempt: int
    max_attempts: int
    schedule: str | None
    unique_key: str | None
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: JSON
    errors: list[dict[str, JSON]] = field(default_factory=list)
    progress: dict[str, JSON] | None = None
    cancel_requested: bool = False
    timeout: float | None = None
    node_id: str | None = None
    lease_expires_at: datetime | None = None
    kind: str = "function"
    workflow: int | None = None
    """The id of the workflow this run is a step of, or None."""
    step: str | None = None
    """Its step's name in that workflow, or None."""

    def to_json(self) -> dict[str, JSON]:
        """The run as the CLI's ``--json`` and the REST API show it."""

        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "job": self.job,
            "queue": self.queue,
            "state": self.state.value,
            "args": self.args,
            "priority": self.priority,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "schedule": self.schedule,
            "unique_key": self.unique_key,
            "run_at": iso(self.run_at),
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "result": self.result,
            "errors": self.errors,
            "progress": self.progress,
            "cancel_requested": self.cancel_requested,
            "timeout": self.timeout,
            "node": self.node_id,
            "kind": self.kind,
            "workflow": self.workflow,
            "step": self.step,
        }


class Decision(NamedTuple):
    """What an event does to a run: the explicit values a store writes, as they are.

    A NamedTuple rather than a frozen dataclass: as immutable, and four times cheaper to
    build, which counts on the worker's hot path (two per finished attempt).
    """

    state: RunState
    attempt: int
    """The attempt count to store (one more on claim, one less when an attempt is not used)."""
    max_attempts: int | None = None
    """A new budget (a manual retry), or None: unchanged."""
    finished_at: datetime | None = None
    """Set exactly when the new state is terminal."""
    run_at: datetime | None = None
    """When the next attempt may start (retrying, snoozed), or None: unchanged."""
    error: ErrorEntry | None = None
    """An entry appended to the run's errors, or None."""
    cancel_requested: bool = False


def worker_lost(attempt: int, node_id: str | None, now: datetime) -> ErrorEntry:
    """The errors entry of an attempt whose node stopped heartbeating."""
    message = f"node {node_id or '?'} stopped heartbeating; its lease expired"
    return ErrorEntry(attempt, "WorkerLost", message, "", now)


def decide(
    state: RunState,
    event: Event,
    *,
    attempt: int,
    max_attempts: int | None,
    now: datetime,
    error: ErrorEntry | None = None,
    delay: timedelta = timedelta(0),
    cancel_requested: bool = False,
    kind: str = "function",
    node_id: str | None = None,
) -> Decision:
    """What ``event`` does to a run in ``state`` with ``attempt`` of ``max_attempts`` used.

    ``delay``: how long a failed attempt waits before the next (its backoff) or a snooze
    sleeps. ``cancel_requested``: the run was asked to cancel, which wins over an attempt's
    end. ``kind``: a batch run goes back to the queue when rescued, whatever its budget (its
    execution restarts from its last commit). ``node_id``: the lost node, for a rescue's entry.
    Raises InvalidTransition for a pair the table forbids.
    """
    if event is Event.SNOOZE or event is Event.HAND_BACK:
        error = None  # neither adds an errors entry, even when a cancel wins over it
    if event in ENDS_ATTEMPT and cancel_requested and state is RunState.RUNNING:
        if event is Event.RESCUE and error is None:
            error = worker_lost(attempt, node_id, now)
        event = Event.STOP
    if max_attempts is None and event in _BUDGETED:
        raise ValueError(f"event {event.value} needs the run's max_attempts")
    exhausted = max_attempts is not None and attempt >= max_attempts
    if event is Event.RESCUE:
        exhausted = exhausted and kind != "batch"
        error = error if error is not None else worker_lost(attempt, node_id, now)
    new = transition(state, event, exhausted=exhausted)
    finished_at = now if new in TERMINAL else None
    if event is Event.CLAIM:
        return Decision(new, attempt + 1, cancel_requested=cancel_requested)
    if event in _UNUSED:
        run_at = now + delay if event is Event.SNOOZE else None
        return Decision(new, attempt - 1, run_at=run_at, cancel_requested=cancel_requested)
    if event is Event.RETRY or event is Event.REOPEN:
        assert max_attempts is not None
        return Decision(new, attempt, max_attempts=attempt + max_attempts, run_at=now)
    if event is Event.CANCEL and new is RunState.RUNNING:
        return Decision(new, attempt, cancel_requested=True)
    run_at = now + delay if new is RunState.RETRYING else None
    return Decision(new, attempt, None, finished_at, run_at, error, cancel_requested)


class Outcome(NamedTuple):
    """The end of one attempt, recorded only while the worker still holds that attempt.

    ``then`` is written normally; ``if_cancelled`` instead when a cancel was requested while
    the attempt ran (the store picks by the row's flag in the same guarded UPDATE). Both carry
    the same error entry, and the result is stored either way. A NamedTuple, as Decision: one
    is built per finished attempt.
    """

    run_id: int
    attempt: int
    node_id: str
    ended_at: datetime
    then: Decision
    if_cancelled: Decision
    result: JSON = None
    settle: bool = False
    """The run is a workflow step: its end may release or cancel the steps after it, which
    the store does in the same transaction."""
    started_at: datetime | None = None
    """When a run claimed ahead (not started) started, written with its end; None: it was
    written already."""

    @property
    def state(self) -> RunState:
        return self.then.state

    @property
    def error(self) -> ErrorEntry | None:
        return self.then.error

    @property
    def run_at(self) -> datetime | None:
        return self.then.run_at

    @classmethod
    def of(
        cls,
        run: Run,
        node_id: str,
        event: Event,
        now: datetime,
        *,
        result: JSON = None,
        error: ErrorEntry | None = None,
        delay: timedelta = timedelta(0),
    ) -> Outcome:
        """How ``run``'s attempt held by ``node_id`` ended: both decisions, from the table."""
        ended = partial(
            decide,
            RunState.RUNNING,
            event,
            attempt=run.attempt,
            max_attempts=run.max_attempts,
            now=now,
            error=error,
            delay=delay,
            kind=run.kind,
            node_id=node_id,
        )
        then, cancelled = ended(), ended(cancel_requested=True)
        settle = run.workflow is not None
        return cls(run.id, run.attempt, node_id, now, then, cancelled, result, settle)
