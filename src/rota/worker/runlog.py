"""One INFO line per run start and end, on the ``rota.runs`` logger.

The message says the facts for people; the same facts ride along as record attributes
(``run_id``, ``job``, ``attempt``, ``state``, ``duration``, ``error_type``, ``next_run_at``,
and ``outcome``: ``snoozed`` for a run put back by ``rota.Snooze``) for a structured formatter
such as ``rota --log-format json``. Nothing is built unless INFO is enabled: this is the hot
path of a busy worker.
"""

from __future__ import annotations

import logging
from typing import Any

from rota.runs import RunState
from rota.storage.base import Outcome
from rota.worker.attempt import Attempt

log = logging.getLogger("rota.runs")


def _fields(attempt: Attempt, state: str) -> dict[str, Any]:
    run = attempt.run
    return {
        "run_id": run.id,
        "job": run.job,
        "attempt": run.attempt,
        "queue": run.queue,
        "state": state,
    }


def started(attempt: Attempt) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    run = attempt.run
    log.info(
        "run %s started: job %s, attempt %s of %s",
        run.id,
        run.job,
        run.attempt,
        run.max_attempts,
        extra=_fields(attempt, RunState.RUNNING.value),
    )


def ended(attempt: Attempt, o: Outcome, duration: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    if o.state is RunState.SCHEDULED:
        _snoozed(attempt, o, duration)
        return
    run = attempt.run
    fields = _fields(attempt, o.state.value)
    fields["duration"] = round(duration, 6)
    text = f"run {run.id} {o.state.value}: job {run.job}, attempt {run.attempt}, {duration:.3f}s"
    if o.error is not None:
        fields["error_type"] = o.error.type
        text += f", error {o.error.type}"
    if o.state is RunState.RETRYING and o.run_at is not None:
        fields["next_run_at"] = o.run_at.isoformat()
        text += f", next attempt at {o.run_at.isoformat()}"
    log.info("%s", text, extra=fields)


def _snoozed(attempt: Attempt, o: Outcome, duration: float) -> None:
    """A snooze: the run waits for its next time, its attempt not counted (unless a cancel
    requested meanwhile wins: the store alone knows, so this line tells what the job asked)."""
    run = attempt.run
    fields = _fields(attempt, o.state.value)
    fields["duration"] = round(duration, 6)
    fields["outcome"] = "snoozed"
    text = f"run {run.id} snoozed: job {run.job}, attempt {run.attempt}, {duration:.3f}s"
    text += " (not counted)"
    if o.run_at is not None:
        fields["next_run_at"] = o.run_at.isoformat()
        text += f", next attempt at {o.run_at.isoformat()}"
    log.info("%s", text, extra=fields)


def handed_back(attempt: Attempt, duration: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    run = attempt.run
    fields = _fields(attempt, RunState.QUEUED.value)
    fields["duration"] = round(duration, 6)
    log.info(
        "run %s handed back to the queue: job %s, attempt %s, %.3fs (not counted)",
        run.id,
        run.job,
        run.attempt,
        duration,
        extra=fields,
    )
