"""Triggers and their maths: when a schedule fires next (pure, no I/O).

Cron times are computed in the schedule's IANA time zone with Vixie/Debian cron's rule across
DST changes, whatever the size of the shift (``rota.scheduling.cron``). A job at fixed times
(minute and hour fields not starting with ``*``, with or without a seconds field) lives on the
wall clock: a time that does not exist on a spring-forward day (02:30 when clocks jump from
02:00 to 03:00; 02:15 when Lord Howe's jump from 02:00 to 02:30) fires once, right after the
jump (03:00; 02:30); a time that exists twice on a fall-back day (01:30) fires once, at its
first occurrence. Any other cron job lives on real time: it fires at every instant whose local
time matches (an hourly job fires 23 times on a spring-forward day and 25 on a fall-back day).
``every`` is a fixed period from an anchor, untouched by DST; ``at`` fires once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from rota.errors import InvalidArguments
from rota.scheduling.cron import cron_next, cron_prev

Kind = Literal["cron", "every", "at"]


class InvalidTrigger(InvalidArguments):
    """A schedule's trigger or options are not valid."""


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: Kind
    cron: str | None = None
    every: float | None = None  # seconds
    at: datetime | None = None
    anchor: datetime | None = None  # first fire time of an ``every`` trigger
    timezone: str = "UTC"

    def describe(self) -> str:
        if self.kind == "cron":
            return f"cron {self.cron} ({self.timezone})"
        if self.kind == "every":
            return f"every {self.every:g}s"
        assert self.at is not None
        return f"at {self.at.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cron": self.cron,
            "every": self.every,
            "at": self.at.isoformat() if self.at else None,
            "anchor": self.anchor.isoformat() if self.anchor else None,
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trigger:
        def dt(v: Any) -> datetime | None:
            return datetime.fromisoformat(v) if v else None

        return cls(
            kind=data["kind"],
            cron=data.get("cron"),
            every=data.get("every"),
            at=dt(data.get("at")),
            anchor=dt(data.get("anchor")),
            timezone=data.get("timezone") or "UTC",
        )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTrigger(
            f"unknown time zone {name!r} (use an IANA name like Europe/Paris)"
        ) from None


def make_trigger(
    *,
    cron: str | None = None,
    every: float | timedelta | None = None,
    at: datetime | None = None,
    timezone: str = "UTC",
    now: datetime,
) -> Trigger:
    """Validate one of cron/every/at into a Trigger; ``now`` anchors an ``every`` trigger."""
    given = [k for k, v in (("cron", cron), ("every", every), ("at", at)) if v is not None]
    if len(given) != 1:
        raise InvalidTrigger("give exactly one of cron=, every= or at=")
    tz = zone(timezone)
    if cron is not None:
        if not isinstance(cron, str) or len(cron.split()) not in (5, 6):
            raise InvalidTrigger(f"cron {cron!r}: use 5 fields, or 6 with seconds first")
        try:
            CronSim(cron, now.astimezone(tz))
        except CronSimError as exc:
            raise InvalidTrigger(f"cron {cron!r}: {exc}") from None
        return Trigger("cron", cron=cron, timezone=timezone)
    if every is not None:
        seconds = every.total_seconds() if isinstance(every, timedelta) else every
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise InvalidTrigger(f"every must be seconds or a timedelta, got {every!r}")
        if not math.isfinite(seconds) or seconds < 0.1:
            raise InvalidTrigger(f"every must be at least 0.1 seconds, got {seconds!r}")
        return Trigger(
            "every",
            every=float(seconds),
            anchor=now + timedelta(seconds=seconds),
            timezone=timezone,
        )
    assert at is not None
    if not isinstance(at, datetime):
        raise InvalidTrigger(f"at must be a datetime, got {at!r}")
    aware = at.replace(tzinfo=tz) if at.tzinfo is None else at
    return Trigger("at", at=aware.astimezone(UTC), timezone=timezone)


def next_fire(trigger: Trigger, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (aware, UTC), or None if there is none."""
    if trigger.kind == "at":
        assert trigger.at is not None
        return trigger.at if trigger.at > after else None
    if trigger.kind == "every":
        assert trigger.every is not None and trigger.anchor is not None
        if after < trigger.anchor:
            return trigger.anchor
        periods = math.floor((after - trigger.anchor).total_seconds() / trigger.every) + 1
        candidate = trigger.anchor + timedelta(seconds=periods * trigger.every)
        while candidate <= after:  # float rounding
            periods += 1
            candidate = trigger.anchor + timedelta(seconds=periods * trigger.every)
        return candidate
    assert trigger.cron is not None
    return cron_next(trigger.cron, zone(trigger.timezone), after)


def prev_fire(trigger: Trigger, before: datetime) -> datetime | None:
    """The last fire time strictly before ``before``, or None."""
    if trigger.kind == "at":
        assert trigger.at is not None
        return trigger.at if trigger.at < before else None
    if trigger.kind == "every":
        assert trigger.every is not None and trigger.anchor is not None
        if before <= trigger.anchor:
            return None
        periods = math.ceil((before - trigger.anchor).total_seconds() / trigger.every) - 1
        candidate = trigger.anchor + timedelta(seconds=periods * trigger.every)
        while candidate >= before:
            periods -= 1
            candidate = trigger.anchor + timedelta(seconds=periods * trigger.every)
        return candidate
    assert trigger.cron is not None
    return cron_prev(trigger.cron, zone(trigger.timezone), before)


def fire_times(trigger: Trigger, after: datetime, until: datetime, limit: int) -> list[datetime]:
    """Up to ``limit`` fire times in (after, until], oldest first."""
    out: list[datetime] = []
    t = next_fire(trigger, after)
    while t is not None and t <= until and len(out) < limit:
        out.append(t)
        t = next_fire(trigger, t)
    return out
