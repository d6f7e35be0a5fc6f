"""What the dashboard's overview shows of runs, and the minute maths behind it (pure).

A ``RunsSummary`` holds the runs per state and queue (each counted up to ``COUNT_CAP``), the
runs that ended per minute over a window (one bucket per minute, empty ones included), and
when the oldest queued run of each queue was due. ``rota.usecases.runs.summary`` builds it
from the stores' aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from rota.runs import RunState

COUNT_CAP = 10_000
"""Each (state, queue) is counted up to this many: a count of it means at least that many.
Counting every run reads an index entry per run, some 70 ms per million (both backends), and
a table of ended runs only grows; capped, the cost follows the pairs, not the table."""

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class MinuteBucket:
    """The runs that ended within one minute, by how they ended."""

    minute: datetime
    """The start of the minute (UTC)."""
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class RunsSummary:
    counts: dict[tuple[RunState, str], int]
    """(state, queue) -> runs, for the pairs that have any; at most ``count_cap`` each."""
    per_minute: list[MinuteBucket]
    """One bucket per minute of the window, oldest first, the last one the current minute."""
    oldest_queued: dict[str, datetime]
    """queue -> when its oldest queued run was due (created, or its run_at if later)."""
    now: datetime
    """When the summary was read: ages are ``now - due``."""
    count_cap: int = COUNT_CAP
    """A count equal to it means at least that many."""


def window_minutes(now: datetime, window: timedelta) -> list[datetime]:
    """The starts of the minutes of ``window`` (whole minutes) that end with ``now``'s minute,
    oldest first."""
    now = now.astimezone(UTC)
    last = now.replace(second=0, microsecond=0)
    count = window // MINUTE
    return [last - (count - 1 - i) * MINUTE for i in range(count)]


def minute_buckets(
    minutes: list[datetime], ended: Iterable[tuple[datetime, RunState, int]]
) -> list[MinuteBucket]:
    """One bucket per minute of ``minutes`` with the (minute, state, count) of ``ended`` added
    in; counts outside those minutes, or of a state that has not ended, are left out."""
    buckets = {m: MinuteBucket(m) for m in minutes}
    for minute, state, count in ended:
        bucket = buckets.get(minute)
        if bucket is None or not state.terminal:
            continue
        name = state.value
        buckets[minute] = replace(bucket, **{name: getattr(bucket, name) + count})
    return [buckets[m] for m in minutes]
