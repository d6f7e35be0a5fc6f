"""Cron fire times in an IANA time zone (pure): cronsim matches the fields, rota places them.

cronsim's own time-zone handling assumes that every DST shift lasts a whole hour: from an aware
start it resets the minutes once and then steps whole real hours, so on the days a zone moves
its clocks by 30 minutes (Australia/Lord_Howe) it looks at the wrong wall times (``* 11 * * *``
fired 30 times on 2027-04-04 there instead of 60). So cronsim only ever sees naive wall-clock
times here, where there is no DST, and this module maps them to instants with zoneinfo:

- A job at fixed times (minute and hour fields not starting with ``*``) lives on the wall
  clock: each matching wall time fires once, at its first occurrence if the clocks went back,
  or, if the clocks jumped over it, at the first existing minute after it (right after the
  jump). Mapped that way, later wall times never give earlier instants.
- Any other job lives on real time: it fires at every instant whose local time matches. Within
  a stretch of constant UTC offset, local time is UTC plus the offset, so the next matching
  wall time gives the next instant, unless that lies past the stretch's end; then the search
  goes on from the next stretch, whatever the size of the shift.

zoneinfo does not list a zone's transitions, so a stretch's end is found by probing the offset
every ``PROBE`` and bisecting to the second (tzdata's transitions are whole seconds, and no two
are closer than that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

PROBE = timedelta(hours=6)
HORIZON = timedelta(days=366 * 50)  # like cronsim: no fire within 50 years means none
MINUTE, SECOND, TINY = timedelta(minutes=1), timedelta(seconds=1), timedelta(microseconds=1)


def is_wall_clock(cron: str) -> bool:
    """Whether a job runs at fixed wall-clock times (Vixie/Debian cron's DST rule applies)."""
    minute, hour = cron.split()[-5:-3]
    return not minute.startswith("*") and not hour.startswith("*")


def cron_next(cron: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (aware), in UTC, or None."""
    if is_wall_clock(cron):
        return _wall_next(cron, tz, after)
    return _real_next(cron, tz, after)


def cron_prev(cron: str, tz: ZoneInfo, before: datetime) -> datetime | None:
    """The last fire time strictly before ``before`` (aware), in UTC, or None."""
    if is_wall_clock(cron):
        return _wall_prev(cron, tz, before)
    return _real_prev(cron, tz, before)


# -- wall-clock jobs -------------------------------------------------------------------------
# A wall time ``h:m:s`` fires at its minute ``h:m`` placed on the time line (its first
# occurrence, or the first existing minute after a jump over it), plus ``s`` seconds. So the
# wall times skipped by a jump all fire within the jump's first minute, in the order of their
# seconds: the walks below take the best second among the wall times that share a minute.
def _minute(wall: datetime, tz: ZoneInfo) -> datetime:
    """The naive minute that ``wall`` fires in: its own if it exists, else after the jump."""
    minute = wall.replace(second=0, microsecond=0)
    while not _exists(minute, tz):
        minute += MINUTE
    return minute


def _place(minute: datetime, second: int, tz: ZoneInfo) -> datetime:
    return minute.replace(tzinfo=tz, fold=0).astimezone(UTC) + second * SECOND


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def _wall_next(cron: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    start = _wall(after, tz)
    just_before = _wall(after - MINUTE, tz)
    if just_before != start - MINUTE:  # a change within the last minute: walk from before it
        start = min(start, just_before)
    best: tuple[datetime, datetime] | None = None  # (fire time, its minute)
    # From the second pass of a repeated hour, the first wall times met have their first
    # occurrence behind ``after``: they are skipped.
    for wall in CronSim(cron, start):
        minute = _minute(wall, tz)
        if best is not None and minute != best[1]:
            break  # later minutes fire later
        found = _place(minute, wall.second, tz)
        if found > after and (best is None or found < best[0]):
            best = (found, minute)
    return best[0] if best else None


def _wall_prev(cron: str, tz: ZoneInfo, before: datetime) -> datetime | None:
    local = before.astimezone(tz)
    # In the second pass of a repeated hour, wall times up to the end of that hour had their
    # first occurrence before ``before``: start the walk back from there.
    repeat = max(timedelta(0), _utcoffset(local.replace(fold=0)) - _utcoffset(local))
    best: tuple[datetime, datetime] | None = None
    for wall in CronSim(cron, local.replace(tzinfo=None) + repeat, reverse=True):
        minute = _minute(wall, tz)
        if best is not None and minute != best[1]:
            break  # earlier minutes fire earlier
        found = _place(minute, wall.second, tz)
        if found < before and (best is None or found > best[0]):
            best = (found, minute)
    return best[0] if best else None


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


# -- real-time jobs --------------------------------------------------------------------------
def _real_next(cron: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    start, limit = after.astimezone(UTC), after + HORIZON
    strict = True  # after the first stretch, a stretch's first instant may fire
    while start < limit:
        offset = _offset(start, tz)
        wall = start.replace(tzinfo=None) + offset
        found_wall = next(CronSim(cron, wall if strict else wall - SECOND), None)
        if found_wall is None:
            return None
        found = (found_wall - offset).replace(tzinfo=UTC)
        end = _stretch_end(tz, start, found, offset)
        if end is None:
            return found
        start, strict = end, False
    return None


def _real_prev(cron: str, tz: ZoneInfo, before: datetime) -> datetime | None:
    end, limit = before.astimezone(UTC), before - HORIZON
    while end > limit:
        offset = _offset(end - TINY, tz)
        wall = end.replace(tzinfo=None) + offset
        found_wall = next(CronSim(cron, wall, reverse=True), None)
        if found_wall is None:
            return None
        found = (found_wall - offset).replace(tzinfo=UTC)
        start = _stretch_start(tz, found, end - TINY, offset)
        if start is None:
            return found
        end = start
    return None


def _stretch_end(
    tz: ZoneInfo, good: datetime, until: datetime, offset: timedelta
) -> datetime | None:
    """The first instant in (good, until] whose offset is not ``offset``, or None."""
    while good < until:
        probe = min(good + PROBE, until)
        if _offset(probe, tz) != offset:
            return _first_second(tz, good, probe, lambda o: o != offset)
        good = probe
    return None


def _stretch_start(
    tz: ZoneInfo, since: datetime, good: datetime, offset: timedelta
) -> datetime | None:
    """The first instant of the stretch of ``offset`` holding ``good``, if after ``since``."""
    while good > since:
        probe = max(good - PROBE, since)
        if _offset(probe, tz) != offset:
            return _first_second(tz, probe, good, lambda o: o == offset)
        good = probe
    return None


def _first_second(
    tz: ZoneInfo, lo: datetime, hi: datetime, wanted: Callable[[timedelta], bool]
) -> datetime:
    """The first whole second in (lo, hi] whose offset is wanted (not at lo, yes at hi)."""
    low, high = math.floor(lo.timestamp()), math.floor(hi.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if wanted(_offset(datetime.fromtimestamp(mid, UTC), tz)):
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta:
    return _utcoffset(instant.astimezone(tz))


def _utcoffset(local: datetime) -> timedelta:
    offset = local.utcoffset()
    assert offset is not None
    return offset
