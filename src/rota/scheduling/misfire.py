"""What a scheduler does with the fire times that came due: pure decisions, no I/O.

A fire time is missed when it is handled more than ``grace`` late. Times within the grace
fire normally, one run each. Missed times follow the schedule's policy: ``skip`` (none of
them runs), ``run_once`` (one run stands for all of them, at the latest missed time), or
``run_all`` (one run per missed time, the most recent ``RUN_ALL_LIMIT`` of them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rota.scheduling.triggers import Trigger, fire_times, next_fire, prev_fire

RUN_ALL_LIMIT = 100
COUNT_LIMIT = 10_000
"""Missed times are counted (for the log) up to this many: past it, "at least"."""


class Misfire(enum.StrEnum):
    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"


@dataclass(frozen=True, slots=True)
class Decision:
    fire: list[datetime]
    """Fire times that get a run (a run's ``run_at`` is its fire time)."""
    missed: list[datetime] = field(default_factory=list)
    """Missed times that get no run of their own (skipped, or folded into a run_once run)."""
    missed_count: int = 0
    """How many times were missed in all (may exceed what the lists hold)."""
    next_fire_at: datetime | None = None


def decide(
    trigger: Trigger,
    policy: Misfire,
    first_due: datetime,
    now: datetime,
    grace: timedelta,
    record_limit: int = RUN_ALL_LIMIT,
) -> Decision:
    """Decide the runs for every fire time from ``first_due`` up to ``now``.

    ``first_due`` is the schedule's stored next fire time (not yet handled, <= now). The
    result also gives the following fire time, strictly after ``now``.
    """
    following = next_fire(trigger, now)
    if first_due > now:
        return Decision([], next_fire_at=first_due)
    cutoff = now - grace  # times before it are more than ``grace`` late: missed
    on_time = fire_times(trigger, max(cutoff, first_due) - _TICK, now, 10_000)
    if first_due >= cutoff:
        return Decision(on_time, next_fire_at=following)
    latest_missed = max(first_due, prev_fire(trigger, cutoff) or first_due)
    recent = _recent(trigger, first_due, latest_missed, record_limit)
    count = _count(trigger, first_due, latest_missed, recent, record_limit)
    if policy is Misfire.SKIP:
        return Decision(on_time, recent, count, following)
    if policy is Misfire.RUN_ONCE:
        return Decision([latest_missed, *on_time], recent[:-1], count, following)
    return Decision([*recent, *on_time], [], count, following)


_TICK = timedelta(microseconds=1)


def _recent(trigger: Trigger, first: datetime, last: datetime, limit: int) -> list[datetime]:
    """The most recent ``limit`` fire times in [first, last], oldest first."""
    out = [last]
    t = last
    while len(out) < limit:
        p = prev_fire(trigger, t)
        if p is None or p < first:
            break
        out.append(p)
        t = p
    return out[::-1]


def _count(
    trigger: Trigger, first: datetime, last: datetime, recent: list[datetime], limit: int
) -> int:
    if len(recent) < limit or recent[0] == first:
        return len(recent)
    if trigger.kind == "every" and trigger.every:
        return round((last - first).total_seconds() / trigger.every) + 1
    return len(fire_times(trigger, first - _TICK, last, COUNT_LIMIT))
