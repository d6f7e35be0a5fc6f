"""From the core's decisions to the values a guarded UPDATE writes, shared by both backends.

The verbs off the hot path (cancel, retry, rescue) read the rows, let ``rota.runs.decide``
decide for each, and write every decided value behind a compare-and-set guard on what they
read (state, attempt, cancel flag, node): a row that changed meanwhile is left alone. Values
stay backend-neutral here (datetimes, ErrorEntry); each backend encodes them. A None
``max_attempts`` or ``run_at`` leaves the column as it is (``COALESCE``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rota.runs import Decision, ErrorEntry, Event, Run, RunState, allowed, decide


@dataclass(frozen=True, slots=True)
class Write:
    """One run's new values and the guard they are written under."""

    id: int
    state: RunState
    attempt: int
    max_attempts: int | None
    run_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    clear_lease: bool
    error: ErrorEntry | None
    was_state: RunState
    was_attempt: int
    was_cancel_requested: bool
    was_node_id: str | None


def write_of(run: Run, d: Decision) -> Write:
    """Decision ``d`` for ``run``, guarded by what was read of it."""
    return Write(
        id=run.id,
        state=d.state,
        attempt=d.attempt,
        max_attempts=d.max_attempts,
        run_at=d.run_at,
        finished_at=d.finished_at,
        cancel_requested=d.cancel_requested,
        clear_lease=d.state is not RunState.RUNNING,
        error=d.error,
        was_state=run.state,
        was_attempt=run.attempt,
        was_cancel_requested=run.cancel_requested,
        was_node_id=run.node_id,
    )


def writes(runs: Iterable[Run], event: Event, now: datetime) -> list[Write]:
    """What ``event`` writes to each run the table lets take it (the others are skipped)."""
    return [
        write_of(
            run,
            decide(
                run.state,
                event,
                attempt=run.attempt,
                max_attempts=run.max_attempts,
                now=now,
                cancel_requested=run.cancel_requested,
                kind=run.kind,
                node_id=run.node_id,
            ),
        )
        for run in runs
        if allowed(run.state, event)
    ]


def rescue_writes(runs: Iterable[Run], now: datetime) -> list[Write]:
    """The rescue of runs whose holder is gone: a failed attempt (``WorkerLost``), except for
    runs claimed ahead that never started (``started_at`` None), handed back unattempted."""
    runs = list(runs)
    started = [r for r in runs if r.started_at is not None]
    return writes(started, Event.RESCUE, now) + writes(
        [r for r in runs if r.started_at is None], Event.HAND_BACK, now
    )


_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def hand_back(attempt: int, now: datetime | None = None) -> tuple[Decision, Decision]:
    """A held attempt handed back unused (``ReleaseParams``): back to the queue, or, when the
    run was asked to cancel meanwhile, cancelled (the store picks by the row's flag)."""
    running, event = RunState.RUNNING, Event.HAND_BACK
    back = decide(running, event, attempt=attempt, max_attempts=None, now=_NO_TIME)
    ended = now or datetime.now(UTC)
    stop = decide(
        running, event, attempt=attempt, max_attempts=None, now=ended, cancel_requested=True
    )
    return back, stop
