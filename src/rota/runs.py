"""Runs: their states, the allowed transitions, and the typed outcome of an attempt.

State diagram (events on the arrows)::

    scheduled --due--> queued --claim--> running --succeed--> succeeded
    retrying  --due--> queued            running --fail(attempts left)--> retrying
    scheduled/retrying --claim--> running    running --fail(none left)/discard--> failed
    queued/scheduled/retrying --cancel--> cancelled
    running --cancel(cooperative, on return)--> cancelled
    running --rescue--> queued | failed      failed/cancelled --retry--> queued
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any


class RunState(enum.StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def waiting(self) -> bool:
        return self in WAITING


TERMINAL = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})
WAITING = frozenset({RunState.SCHEDULED, RunState.QUEUED, RunState.RETRYING})


class Event(enum.StrEnum):
    DUE = "due"
    CLAIM = "claim"
    SUCCEED = "succeed"
    FAIL_RETRY = "fail_retry"
    FAIL_FINAL = "fail_final"
    CANCEL = "cancel"
    RESCUE_RETRY = "rescue_retry"
    RESCUE_FINAL = "rescue_final"
    RETRY = "retry"


_S = RunState
_TRANSITIONS: dict[tuple[RunState, Event], RunState] = {
    (_S.SCHEDULED, Event.DUE): _S.QUEUED,
    (_S.RETRYING, Event.DUE): _S.QUEUED,
    (_S.QUEUED, Event.CLAIM): _S.RUNNING,
    (_S.SCHEDULED, Event.CLAIM): _S.RUNNING,
    (_S.RETRYING, Event.CLAIM): _S.RUNNING,
    (_S.RUNNING, Event.SUCCEED): _S.SUCCEEDED,
    (_S.RUNNING, Event.FAIL_RETRY): _S.RETRYING,
    (_S.RUNNING, Event.FAIL_FINAL): _S.FAILED,
    (_S.RUNNING, Event.CANCEL): _S.CANCELLED,
    (_S.QUEUED, Event.CANCEL): _S.CANCELLED,
    (_S.SCHEDULED, Event.CANCEL): _S.CANCELLED,
    (_S.RETRYING, Event.CANCEL): _S.CANCELLED,
    (_S.RUNNING, Event.RESCUE_RETRY): _S.QUEUED,
    (_S.RUNNING, Event.RESCUE_FINAL): _S.FAILED,
    (_S.FAILED, Event.RETRY): _S.QUEUED,
    (_S.CANCELLED, Event.RETRY): _S.QUEUED,
}


class InvalidTransition(ValueError):
    pass


def transition(state: RunState, event: Event) -> RunState:
    """The state a run moves to on ``event``; raises InvalidTransition if it may not."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(f"a {state.value} run cannot take event {event.value}") from None


def allowed(state: RunState, event: Event) -> bool:
    return (state, event) in _TRANSITIONS


def states_accepting(event: Event) -> frozenset[RunState]:
    """Every state from which ``event`` is allowed (used to build SQL guards)."""
    return frozenset(s for (s, e) in _TRANSITIONS if e is event)


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
        }
