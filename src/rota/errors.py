"""Exceptions users see, and the two outcomes a job may raise on purpose."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from rota.limits import MAX_AHEAD_SECONDS, quote


class RotaError(Exception):
    """Base of every error rota raises."""


class ConfigError(RotaError):
    """The app or its configuration cannot work as given (bad URL, missing extra, ...)."""


class InvalidInput(RotaError, ValueError):
    """An operation's input is out of range or malformed (an id, a page size, a duration)."""


class LaunchError(RotaError):
    """A launch was refused; nothing was stored."""


class UnknownJob(LaunchError, LookupError):
    """No job of that name is defined in the app."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown job {quote(name)}")
        self.name = name


class InvalidArguments(LaunchError, ValueError):
    """The arguments do not fit the job's signature or type hints."""


class IdempotencyConflict(LaunchError):
    """An idempotency key was reused for a different launch (other job, arguments or options)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {quote(key)} was already used for a different launch "
            "(another job, arguments or options)"
        )
        self.key = key


class BatchConflict(LaunchError):
    """A batch instance cannot run (again) now: completed, abandoned, running or out of restarts;
    or an operation does not apply to an execution in its state."""


class ExecutionNotFound(RotaError, LookupError):
    """No batch execution has that id (CLI exit 3, HTTP 404)."""

    def __init__(self, execution_id: int) -> None:
        super().__init__(f"batch execution {execution_id} not found")
        self.execution_id = execution_id


class RunNotFound(RotaError, LookupError):
    """No run has that id (CLI exit 3, HTTP 404)."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"run {run_id} not found")
        self.run_id = run_id


class WorkflowNotFound(RotaError, LookupError):
    """No workflow has that id (CLI exit 3, HTTP 404)."""

    def __init__(self, workflow_id: int) -> None:
        super().__init__(f"workflow {workflow_id} not found")
        self.workflow_id = workflow_id


class ScheduleNotFound(RotaError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"schedule {quote(name)} not found")
        self.name = name


class RunFailed(RotaError):
    """Raised by ``RunHandle.result()`` when the run ended failed or cancelled."""

    def __init__(self, run_id: int, state: str, errors: list[dict[str, Any]]) -> None:
        last = errors[-1] if errors else None
        detail = f": {last['type']}: {last['message']}" if last else ""
        super().__init__(f"run {run_id} ended {state}{detail}")
        self.run_id = run_id
        self.state = state
        self.errors = errors


class StorageUnavailable(RotaError):
    """The database could not be reached or is locked; the caller may retry later."""


class Retry(Exception):
    """Raised by a job: fail this attempt and retry after ``after`` seconds."""

    def __init__(self, after: float | None = None, reason: str = "") -> None:
        super().__init__(
            reason or (f"retry requested after {after}s" if after else "retry requested")
        )
        self.after = after


class HandBack(Exception):
    """Raised by a job that cannot go on here because its node is shutting down: its run goes
    back to the queue unfinished, without counting the attempt, for another node to resume
    (a batch step does this at a chunk boundary)."""


class Snooze(Exception):
    """Raised by a job: not now. The run goes back to ``scheduled``, due ``after`` (seconds or
    a timedelta) from now, without an ``errors`` entry and without using up an attempt.

    ``after`` is checked here, where the job raises it: a negative, NaN, infinite or too long
    wait (past ``rota.limits.MAX_AHEAD_SECONDS``, as for a launch's delay) raises
    ``InvalidInput`` instead, which fails the attempt with an entry saying so.
    """

    def __init__(self, after: float | timedelta) -> None:
        seconds = _snooze_seconds(after)
        super().__init__(f"snoozed for {seconds:g}s")
        self.after = seconds
        """The wait in seconds (a float, whichever way it was given)."""

    @property
    def delay(self) -> timedelta:
        """``after`` as a ``timedelta``."""
        return timedelta(seconds=self.after)

    def __reduce__(self) -> tuple[type[Snooze], tuple[float]]:
        return (Snooze, (self.after,))  # rebuilt from its wait, not from its message


def _snooze_seconds(after: object) -> float:
    if isinstance(after, bool) or not isinstance(after, int | float | timedelta):
        raise InvalidInput(
            f"rota.Snooze(after=...) takes seconds or a timedelta, got {quote(after)}"
        )
    try:
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not 0 <= seconds <= MAX_AHEAD_SECONDS:  # NaN fails too
        raise InvalidInput(
            f"rota.Snooze(after=...) must be from 0 to {MAX_AHEAD_SECONDS} seconds (10 years), "
            f"got {quote(after)}"
        )
    return seconds


class Discard(Exception):
    """Raised by a job: fail the run now, without any further attempt."""

    def __init__(self, reason: str = "discarded") -> None:
        super().__init__(reason)
        self.reason = reason
