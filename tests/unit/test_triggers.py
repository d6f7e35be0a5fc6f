"""Trigger maths (pure): cron, every and at, checked against a brute-force reference.

The reference steps through time minute by minute (second by second for 6-field crons) and
matches the cron fields itself, so ``next_fire``/``prev_fire``/``fire_times`` are checked
against first principles, not against cronsim. In zones with DST it follows the rule that
``rota.scheduling.triggers`` documents (Vixie/Debian cron): a job at fixed times (neither
minute nor hour starting with ``*``, with or without a seconds field) lives on the wall clock:
a time skipped by a spring-forward jump fires once right after the jump, a time repeated by a
fall-back fires once at its first occurrence; any other cron expression lives on real time and
fires at every instant whose local wall-clock fields match.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rota.errors import InvalidArguments
from rota.scheduling.triggers import (
    InvalidTrigger,
    Trigger,
    fire_times,
    make_trigger,
    next_fire,
    prev_fire,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
MINUTE, SECOND = timedelta(minutes=1), timedelta(seconds=1)
US = timedelta(microseconds=1)
FIXED_ZONES = ["UTC", "Etc/GMT-5", "Etc/GMT+7", "Asia/Kolkata"]  # no DST (Kolkata: +05:30)
RANGES = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "dom": (1, 31), "dow": (0, 6)}


# -- the reference ---------------------------------------------------------------------------
def parse_field(text: str, low: int, high: int) -> set[int]:
    """``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n`` and comma lists of them."""
    out: set[int] = set()
    for term in text.split(","):
        base, _, step = term.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-"))
        else:
            start = end = int(base)
        out.update(range(start, end + 1, int(step or 1)))
    return out


@dataclass(frozen=True)
class Cron:
    minute: str
    hour: str
    dom: str = "*"
    month: str = "*"
    dow: str = "*"
    second: str | None = None

    @property
    def expr(self) -> str:
        fields = [self.minute, self.hour, self.dom, self.month, self.dow]
        return " ".join([self.second, *fields] if self.second is not None else fields)

    @property
    def wall_clock(self) -> bool:
        """A fixed-time job: the DST rule of Debian cron applies (see the module docstring)."""
        return not self.minute.startswith("*") and not self.hour.startswith("*")

    @cached_property
    def sets(self) -> tuple[set[int], ...]:
        return (
            parse_field(self.second or "0", 0, 59),
            parse_field(self.minute, 0, 59),
            parse_field(self.hour, 0, 23),
            parse_field(self.dom, 1, 31),
            parse_field(self.month, 1, 12),
            parse_field(self.dow, 0, 6),
        )

    def matches(self, local: datetime) -> bool:
        seconds, minutes, hours, _, months, _ = self.sets
        return (
            local.second in seconds
            and local.minute in minutes
            and local.hour in hours
            and local.month in months
            and self.day_matches(local.date())
        )

    def day_matches(self, d: date) -> bool:
        dom = d.day in self.sets[3]
        dow = (d.weekday() + 1) % 7 in self.sets[5]
        if self.dom.startswith("*") or self.dow.startswith("*"):  # Vixie cron: AND, else OR
            return dom and dow
        return dom or dow


def real_times(
    cron: Cron, tz: ZoneInfo, start: datetime, step: timedelta, count: int
) -> Iterator[datetime]:
    """Matching instants among ``count`` on the ``step`` grid from ``start`` (step may be < 0)."""
    for n in range(count):
        t = start + n * step
        if cron.matches(t.astimezone(tz)):
            yield t


def realize(naive: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time as an instant: skipped times move to the jump, repeated ones fold=0."""
    t = naive
    while t.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) != t:
        t += MINUTE
    return t.replace(tzinfo=tz, fold=0).astimezone(UTC)


def wall_times(cron: Cron, tz: ZoneInfo, around: datetime, days: int) -> list[datetime]:
    """Instants of a fixed-time job on ``days`` local days either side of ``around``."""
    first = around.astimezone(tz).date() - timedelta(days=days)
    out = set()
    for n in range(2 * days + 1):
        d = first + timedelta(days=n)
        if d.month in cron.sets[4] and cron.day_matches(d):
            for h in cron.sets[2]:
                for m in cron.sets[1]:
                    minute = realize(datetime.combine(d, time(h, m)), tz)
                    out.update(minute + sec * SECOND for sec in cron.sets[0])
    return sorted(out)


def brute_next(cron: Cron, tz: ZoneInfo, after: datetime, horizon: timedelta) -> datetime | None:
    """The first matching instant strictly after ``after``, or None within ``horizon``."""
    if cron.wall_clock and (cron.second is not None or tz.key not in FIXED_ZONES):
        found = [t for t in wall_times(cron, tz, after, horizon.days + 1) if t > after]
        return found[0] if found and found[0] <= after + horizon else None
    step = SECOND if cron.second is not None else MINUTE
    return next(real_times(cron, tz, floor(after, step) + step, step, horizon // step), None)


def brute_prev(cron: Cron, tz: ZoneInfo, before: datetime, horizon: timedelta) -> datetime | None:
    """The last matching instant strictly before ``before``, or None within ``horizon``."""
    if cron.wall_clock and (cron.second is not None or tz.key not in FIXED_ZONES):
        found = [t for t in wall_times(cron, tz, before, horizon.days + 1) if t < before]
        return found[-1] if found and found[-1] >= before - horizon else None
    step = SECOND if cron.second is not None else MINUTE
    return next(real_times(cron, tz, floor(before - US, step), -step, horizon // step), None)


def floor(t: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((t - epoch) // step) * step


# -- strategies ------------------------------------------------------------------------------
def field(name: str, allow_star_step: bool = True) -> st.SearchStrategy[str]:
    low, high = RANGES[name]
    num = st.integers(low, high)
    step = st.integers(1, max(2, (high - low) // 2))
    ranged = st.tuples(num, num).map(sorted)
    # cronsim reads a one-value range with a step ("5-5/2") as "5/2"; nobody writes that
    wide = ranged.filter(lambda r: r[0] < r[1])
    options = [
        st.just("*"),
        num.map(str),
        ranged.map(lambda r: f"{r[0]}-{r[1]}"),
        st.tuples(wide, step).map(lambda x: f"{x[0][0]}-{x[0][1]}/{x[1]}"),
        st.lists(num, min_size=2, max_size=4, unique=True).map(lambda v: ",".join(map(str, v))),
    ]
    if allow_star_step:
        options.append(step.map(lambda n: f"*/{n}"))
    return st.one_of(options)


def fixed(name: str) -> st.SearchStrategy[str]:
    """A field with no leading ``*``: a job at fixed times (the DST rule applies)."""
    return field(name, allow_star_step=False).filter(lambda f: f != "*")


crons5 = st.builds(
    Cron,
    minute=field("minute"),
    hour=field("hour"),
    dow=st.one_of(st.just("*"), field("dow")),
    dom=st.one_of(st.just("*"), st.just("*"), field("dom")),
)
crons6 = st.builds(Cron, second=field("second"), minute=field("minute"), hour=st.just("*"))
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def trigger(cron: Cron, zone: str) -> Trigger:
    return make_trigger(cron=cron.expr, timezone=zone, now=NOW)


def check_next(cron: Cron, zone: str, after: datetime, horizon: timedelta) -> None:
    tz, got = ZoneInfo(zone), next_fire(trigger(cron, zone), after)
    want = brute_next(cron, tz, after, horizon)
    if want is not None:
        assert got == want, (cron.expr, zone, after)
    else:  # nothing within the horizon (rare days): whatever it finds lies beyond and matches
        assert got is None or (got > after + horizon and cron.matches(got.astimezone(tz)))


def check_prev(cron: Cron, zone: str, before: datetime, horizon: timedelta) -> None:
    tz, got = ZoneInfo(zone), prev_fire(trigger(cron, zone), before)
    want = brute_prev(cron, tz, before, horizon)
    if want is not None:
        assert got == want, (cron.expr, zone, before)
    else:
        assert got is None or (got < before - horizon and cron.matches(got.astimezone(tz)))


# -- cron against the reference --------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(cron=crons5, zone=st.sampled_from(FIXED_ZONES), after=instants)
def test_next_fire_of_a_5_field_cron_is_the_first_matching_minute_after(
    cron: Cron, zone: str, after: datetime
) -> None:
    check_next(cron, zone, after, timedelta(days=8))


@settings(max_examples=150, deadline=None)
@given(cron=crons5, zone=st.sampled_from(FIXED_ZONES), before=instants)
def test_prev_fire_of_a_5_field_cron_is_the_last_matching_minute_before(
    cron: Cron, zone: str, before: datetime
) -> None:
    check_prev(cron, zone, before, timedelta(days=8))


@settings(max_examples=100, deadline=None)
@given(cron=crons6, zone=st.sampled_from(FIXED_ZONES), t=instants)
def test_a_6_field_cron_has_seconds_first(cron: Cron, zone: str, t: datetime) -> None:
    check_next(cron, zone, t, timedelta(hours=2))
    check_prev(cron, zone, t, timedelta(hours=2))


@settings(max_examples=60, deadline=None)
@given(
    cron=st.builds(Cron, minute=field("minute"), hour=field("hour")),
    zone=st.sampled_from(FIXED_ZONES),
    after=instants,
    hours=st.integers(1, 72),
)
def test_fire_times_lists_every_match_in_the_window_oldest_first(
    cron: Cron, zone: str, after: datetime, hours: int
) -> None:
    until = after + timedelta(hours=hours)
    start = floor(after, MINUTE) + MINUTE
    want = []
    for t in real_times(cron, ZoneInfo(zone), start, MINUTE, hours * 60):
        if len(want) == 50:
            break
        want.append(t)
    assert fire_times(trigger(cron, zone), after, until, 50) == want


def test_hand_picked_crons_in_utc() -> None:
    t = make_trigger(cron="*/15 9-17 * * MON-FRI", now=NOW)
    friday = datetime(2030, 1, 4, 17, 45, tzinfo=UTC)
    assert next_fire(t, friday) == datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # Monday
    assert prev_fire(t, datetime(2030, 1, 7, 9, 0, tzinfo=UTC)) == friday
    assert next_fire(t, friday - US) == friday
    seconds = make_trigger(cron="*/20 * * * * *", now=NOW)
    assert fire_times(seconds, NOW, NOW + timedelta(minutes=1), 10) == [
        NOW + timedelta(seconds=s) for s in (20, 40, 60)
    ]


# -- DST: Europe/Berlin and America/New_York -------------------------------------------------
DST = {
    # zone: (spring-forward day, fall-back day, a time repeated on the fall-back day)
    "Europe/Berlin": (date(2025, 3, 30), date(2025, 10, 26), time(2, 30)),
    "America/New_York": (date(2025, 3, 9), date(2025, 11, 2), time(1, 30)),
}


def local_fires(zone: str, cron: str, day: date) -> list[datetime]:
    """Fire times from the day before ``day`` to the day after, in the zone."""
    tz = ZoneInfo(zone)
    t = make_trigger(cron=cron, timezone=zone, now=NOW)
    start = datetime.combine(day - timedelta(days=1), time(), tz)
    end = datetime.combine(day + timedelta(days=2), time(), tz)
    return [f.astimezone(tz) for f in fire_times(t, start, end, 200)]


@pytest.mark.parametrize("seconds", ["", "0 "], ids=["5 fields", "6 fields"])
@pytest.mark.parametrize("zone", DST)
def test_spring_forward_a_0230_job_fires_once_at_0300_right_after_the_jump(
    zone: str, seconds: str
) -> None:
    """02:30 does not exist on the spring-forward day: it fires once, at 03:00 local."""
    spring = DST[zone][0]
    cron = f"{seconds}30 2 * * *"
    fires = local_fires(zone, cron, spring)
    assert [(f.date(), f.time()) for f in fires] == [
        (spring - timedelta(days=1), time(2, 30)),
        (spring, time(3, 0)),
        (spring + timedelta(days=1), time(2, 30)),
    ]
    jump = fires[1].astimezone(UTC)
    assert jump - fires[0].astimezone(UTC) == timedelta(hours=23, minutes=30)
    t = make_trigger(cron=cron, timezone=zone, now=NOW)
    assert prev_fire(t, jump) == fires[0]
    assert prev_fire(t, jump + US) == jump
    assert next_fire(t, jump - US) == jump


@pytest.mark.parametrize("seconds", ["", "0 "], ids=["5 fields", "6 fields"])
@pytest.mark.parametrize("zone", DST)
def test_fall_back_a_repeated_time_fires_once_at_its_first_occurrence(
    zone: str, seconds: str
) -> None:
    """01:30 (02:30 in Berlin) happens twice on the fall-back day: it fires at the first one."""
    fall, repeated = DST[zone][1], DST[zone][2]
    tz = ZoneInfo(zone)
    cron = f"{seconds}{repeated.minute} {repeated.hour} * * *"
    fires = local_fires(zone, cron, fall)
    assert [(f.date(), f.time()) for f in fires] == [
        (fall + timedelta(days=n), repeated) for n in (-1, 0, 1)
    ]
    first = datetime.combine(fall, repeated, tz)  # fold=0: the first occurrence
    second = first.replace(fold=1)
    assert fires[1].astimezone(UTC) == first.astimezone(UTC)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    t = make_trigger(cron=cron, timezone=zone, now=NOW)
    tomorrow = fires[2].astimezone(UTC)
    # From anywhere in the repeated hour, before or after the second occurrence, the next
    # fire is tomorrow, and the previous one is the first occurrence.
    first_at, second_at = first.astimezone(UTC), second.astimezone(UTC)
    for at in (first_at, second_at - timedelta(minutes=20), second_at, second_at + MINUTE):
        assert next_fire(t, at) == tomorrow, at
        assert prev_fire(t, at + US) == first_at, at
    assert next_fire(t, first_at - US) == first_at


@pytest.mark.parametrize("zone", DST)
def test_hourly_jobs_run_on_real_time_23_and_25_hours_on_dst_days(zone: str) -> None:
    tz = ZoneInfo(zone)
    spring, fall, _ = DST[zone]
    for day, hours in ((spring, 23), (fall, 25)):
        t = make_trigger(cron="0 * * * *", timezone=zone, now=NOW)
        start = datetime.combine(day, time(), tz) - US
        end = datetime.combine(day + timedelta(days=1), time(), tz) - US
        fires = fire_times(t, start, end, 100)
        assert len(fires) == hours
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(fires))


hours_near_dst = st.lists(st.integers(0, 4), min_size=1, max_size=3, unique=True).map(
    lambda hs: ",".join(map(str, hs))
)


def near_dst(zone: str) -> st.SearchStrategy[datetime]:
    tz = ZoneInfo(zone)
    spring, fall, _ = DST[zone]
    days = st.sampled_from([spring, fall])
    near, far = st.integers(-2 * 3600, 3 * 3600), st.integers(-30 * 3600, 30 * 3600)
    seconds = st.one_of(near, near, far)
    offsets = seconds.map(lambda s: timedelta(seconds=s))
    return st.builds(
        lambda d, o: datetime.combine(d, time(2), tz).astimezone(UTC) + o, days, offsets
    )


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    zone=st.sampled_from(list(DST)),
    cron=st.builds(Cron, minute=field("minute"), hour=st.one_of(field("hour"), hours_near_dst)),
)
def test_next_and_prev_fire_around_dst_changes_follow_the_documented_rule(
    data: st.DataObject, zone: str, cron: Cron
) -> None:
    t = data.draw(near_dst(zone))
    check_next(cron, zone, t, timedelta(days=2))
    check_prev(cron, zone, t, timedelta(days=2))


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(list(DST)),
    minute=fixed("minute"),
    extra_hours=st.lists(st.integers(0, 23), max_size=2),
    seconds=st.integers(-600, 2 * 3600),
)
def test_next_and_prev_fire_inside_a_repeated_hour_follow_the_documented_rule(
    zone: str, minute: str, extra_hours: list[int], seconds: int
) -> None:
    """From either pass of the fall-back hour, for jobs at fixed times within that hour."""
    fall, repeated = DST[zone][1], DST[zone][2]
    hours = ",".join(str(h) for h in sorted({repeated.hour, *extra_hours}))
    cron = Cron(minute=minute, hour=hours)
    first_pass = datetime.combine(fall, time(repeated.hour), ZoneInfo(zone)).astimezone(UTC)
    t = first_pass + timedelta(seconds=seconds)
    check_next(cron, zone, t, timedelta(days=2))
    check_prev(cron, zone, t, timedelta(days=2))


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    zone=st.sampled_from([*DST, *FIXED_ZONES]),
    cron=st.builds(
        Cron,
        second=field("second"),
        minute=fixed("minute"),
        hour=st.one_of(hours_near_dst, fixed("hour")),
    ),
)
def test_a_6_field_cron_at_fixed_times_follows_the_same_dst_rule(
    data: st.DataObject, zone: str, cron: Cron
) -> None:
    """``0 30 2 * * *`` is ``30 2 * * *``: seconds do not change how DST treats a job."""
    t = data.draw(near_dst(zone if zone in DST else "Europe/Berlin"))
    check_next(cron, zone, t, timedelta(days=2))
    check_prev(cron, zone, t, timedelta(days=2))


# -- DST shifts of any size: Australia/Lord_Howe moves its clocks by 30 minutes ---------------
def test_lord_howe_every_minute_of_hour_11_fires_60_times_on_its_fall_back_day() -> None:
    """cronsim steps whole hours from an aware start: after the 30-minute fall-back at 02:00 it
    only met 11:30-11:59 (30 fires). Hour 11 is an ordinary hour that day: 60 fires."""
    tz = ZoneInfo("Australia/Lord_Howe")
    t = make_trigger(cron="* 11 * * *", timezone=tz.key, now=NOW)
    day = datetime(2027, 4, 4, tzinfo=tz)
    fires = fire_times(t, day, day + timedelta(days=1), 200)
    assert [f.astimezone(tz).time() for f in fires] == [time(11, m) for m in range(60)]
    assert prev_fire(t, day + timedelta(days=1)) == fires[-1]


def dst_changes(zone: str, years: range) -> list[datetime]:
    """The instants (UTC, to the minute) at which the zone's UTC offset changes."""
    tz, out = ZoneInfo(zone), []
    t = datetime(years.start, 1, 1, tzinfo=UTC)
    while t.year < years.stop:
        if (t + timedelta(days=1)).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
            while t.astimezone(tz).utcoffset() == (t + MINUTE).astimezone(tz).utcoffset():
                t += MINUTE
            out.append(t + MINUTE)
        t += timedelta(days=1)
    return out


SHIFT_ZONES = ["Australia/Lord_Howe", "Europe/Berlin", "America/New_York"]
CHANGES = {zone: dst_changes(zone, range(2026, 2028)) for zone in SHIFT_ZONES}


def test_the_reference_knows_both_dst_changes_of_2026_and_2027() -> None:
    assert [len(v) for v in CHANGES.values()] == [4, 4, 4]
    howe = ZoneInfo("Australia/Lord_Howe")
    assert [c.astimezone(howe).replace(tzinfo=None) for c in CHANGES["Australia/Lord_Howe"]] == [
        datetime(2026, 4, 5, 1, 30), datetime(2026, 10, 4, 2, 30),  # back 30 min, forward 30
        datetime(2027, 4, 4, 1, 30), datetime(2027, 10, 3, 2, 30),
    ]  # fmt: skip


def brute_fires(cron: Cron, tz: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """Every fire time in (after, until], from the rule, second by second or minute by minute."""
    if cron.wall_clock:
        days = (until - after).days + 2
        return [t for t in wall_times(cron, tz, after, days) if after < t <= until]
    step = SECOND if cron.second is not None else MINUTE
    start = floor(after, step) + step
    return list(real_times(cron, tz, start, step, (until - start) // step + 1))


@settings(max_examples=120, deadline=None)
@given(
    data=st.data(),
    zone=st.sampled_from(SHIFT_ZONES),
    cron=st.one_of(
        st.builds(Cron, minute=field("minute"), hour=st.one_of(field("hour"), hours_near_dst)),
        st.builds(
            Cron,
            second=field("second"),
            minute=st.one_of(field("minute"), fixed("minute")),
            hour=st.one_of(hours_near_dst, st.just("*"), fixed("hour")),
        ),
    ),
)
@example(
    data=None,  # the case that lost half its fires
    zone="Australia/Lord_Howe",
    cron=Cron(minute="*", hour="11"),
)
def test_fire_times_around_dst_changes_of_any_size_match_a_brute_force_reference(
    data: st.DataObject | None, zone: str, cron: Cron
) -> None:
    """Every fire time over a window around a DST change, for 30- and 60-minute shifts: iterated
    with next_fire and prev_fire, against the rule applied second by second (6-field crons,
    a 3-hour window) or minute by minute (5 fields, 30 hours)."""
    tz = ZoneInfo(zone)
    if data is None:
        after = datetime(2027, 4, 4, tzinfo=tz).astimezone(UTC) - US
        until = after + timedelta(days=1)
    else:
        change = data.draw(st.sampled_from(CHANGES[zone]))
        span = timedelta(hours=3) if cron.second is not None else timedelta(hours=30)
        after = change + data.draw(st.timedeltas(-span, timedelta(hours=1)))
        until = after + span
    want = brute_fires(cron, tz, after, until)
    if data is None:
        assert len(want) == 60
    t = trigger(cron, zone)
    assert fire_times(t, after, until, len(want) + 1) == want, (cron.expr, zone)
    backwards, at = [], until + US
    while (found := prev_fire(t, at)) is not None and found > after and len(backwards) < 200:
        backwards.append(found)
        at = found
    assert backwards == want[::-1][:200], (cron.expr, zone)


# -- every -----------------------------------------------------------------------------------
@settings(max_examples=300)
@given(
    every=st.one_of(st.integers(1, 100_000), st.floats(0.1, 10_000, allow_nan=False)),
    offset=st.floats(-1e6, 1e7, allow_nan=False),
)
def test_every_fires_at_the_anchor_plus_whole_periods(every: float, offset: float) -> None:
    """Fire k is ``anchor + k * every`` (to the microsecond); next/prev find the neighbours."""
    t = make_trigger(every=every, now=NOW)
    anchor = NOW + timedelta(seconds=every)
    assert t.anchor == anchor

    def fire(k: int) -> datetime:
        return anchor + timedelta(seconds=k * every)

    def index(f: datetime) -> int:
        k = round((f - anchor).total_seconds() / every)
        assert f == fire(k), "not a fire time"
        return k

    at = NOW + timedelta(seconds=offset)
    n, p = next_fire(t, at), prev_fire(t, at)
    assert n is not None and n > at
    kn = index(n)
    assert kn == 0 or fire(kn - 1) <= at  # none skipped
    if p is None:
        assert at <= anchor
    else:
        kp = index(p)
        assert p < at and fire(kp + 1) >= at
        assert kn - kp == (2 if fire(kp + 1) == at else 1)


def test_every_takes_a_timedelta_and_keeps_a_fixed_period_across_dst() -> None:
    before_fall = datetime(2025, 10, 25, 22, 0, tzinfo=UTC)
    t = make_trigger(every=timedelta(hours=1), timezone="Europe/Berlin", now=before_fall)
    fires = fire_times(t, before_fall, before_fall + timedelta(hours=6), 10)
    assert fires == [before_fall + timedelta(hours=h) for h in range(1, 7)]
    assert t.every == 3600.0
    quick = make_trigger(every=0.25, now=NOW)
    assert fire_times(quick, NOW, NOW + SECOND, 10) == [
        NOW + timedelta(seconds=s) for s in (0.25, 0.5, 0.75, 1.0)
    ]


# -- at --------------------------------------------------------------------------------------
def test_at_fires_once() -> None:
    when = datetime(2031, 5, 1, 9, 30, tzinfo=UTC)
    t = make_trigger(at=when, now=NOW)
    assert next_fire(t, NOW) == when
    assert next_fire(t, when - US) == when
    assert next_fire(t, when) is None
    assert prev_fire(t, when) is None
    assert prev_fire(t, when + US) == when
    assert fire_times(t, NOW, when + timedelta(days=365), 10) == [when]


def test_a_naive_at_is_read_in_the_schedules_zone() -> None:
    t = make_trigger(at=datetime(2031, 7, 1, 9, 30), timezone="Europe/Berlin", now=NOW)
    assert t.at == datetime(2031, 7, 1, 7, 30, tzinfo=UTC)
    aware = make_trigger(at=datetime(2031, 7, 1, 9, 30, tzinfo=UTC), timezone="Asia/Tokyo", now=NOW)
    assert aware.at == datetime(2031, 7, 1, 9, 30, tzinfo=UTC)


def test_a_trigger_survives_its_json_form() -> None:
    for t in (
        make_trigger(cron="0 3 * * *", timezone="America/New_York", now=NOW),
        make_trigger(every=90, now=NOW),
        make_trigger(at=datetime(2031, 1, 1), now=NOW),
    ):
        assert Trigger.from_json(t.to_json()) == t


# -- refused ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"cron": "* * * * *", "every": 5},
        {"every": 5, "at": NOW},
        {"cron": "* * * *"},
        {"cron": "0 0 * * * * *"},
        {"cron": "61 * * * *"},
        {"cron": "* 24 * * *"},
        {"cron": "*/0 * * * *"},
        {"cron": "0 0 30 2 *"},
        {"cron": "a b c d e"},
        {"cron": "@hourly"},
        {"cron": ""},
        {"cron": 5},
        {"cron": "0 3 * * *", "timezone": "Mars/Olympus_Mons"},
        {"cron": "0 3 * * *", "timezone": ""},
        {"cron": "0 3 * * *", "timezone": "../etc/passwd"},
        {"every": 0},
        {"every": -1},
        {"every": 0.01},
        {"every": float("nan")},
        {"every": float("inf")},
        {"every": True},
        {"every": "5"},
        {"every": timedelta(0)},
        {"at": "2031-01-01"},
        {"at": 1_900_000_000},
    ],
    ids=repr,
)
def test_invalid_triggers_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidTrigger) as info:
        make_trigger(now=NOW, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, InvalidArguments)  # a launch error like any other
    assert str(info.value)
