"""Misfire decisions (pure): what a scheduler does with the fire times that came due.

Times are injected, never slept for. A fire time handled at most ``grace`` late is on time and
gets its own run whatever the policy; one handled later is missed: ``skip`` runs none of the
missed, ``run_once`` runs one (at the latest missed time) for all of them, ``run_all`` runs one
per missed time, the most recent ``RUN_ALL_LIMIT`` (100) of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rota.scheduling.misfire import RUN_ALL_LIMIT, Misfire, decide
from rota.scheduling.triggers import Trigger, fire_times, make_trigger

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
S = timedelta(seconds=1)


def every(seconds: int) -> tuple[Trigger, datetime]:
    """An ``every`` trigger and its anchor (its first fire time)."""
    t = make_trigger(every=seconds, now=T0)
    assert t.anchor is not None
    return t, t.anchor


def expected(
    times: list[datetime], policy: Misfire, now: datetime, grace: timedelta
) -> tuple[list[datetime], list[datetime], int]:
    """The reference: (fire, missed records, missed count) for the due ``times``."""
    on_time = [t for t in times if now - t <= grace]
    missed = [t for t in times if now - t > grace]
    recent = missed[-RUN_ALL_LIMIT:]
    if policy is Misfire.SKIP:
        return on_time, recent, len(missed)
    if policy is Misfire.RUN_ONCE:
        return (recent[-1:] + on_time), recent[:-1], len(missed)
    return recent + on_time, [], len(missed)


@settings(max_examples=400)
@given(
    period=st.integers(1, 90),
    first=st.integers(0, 50),
    late_us=st.integers(0, 400 * 90 * 10**6),
    grace_us=st.one_of(st.integers(0, 5 * 90 * 10**6), st.sampled_from([0, 10**6])),
    policy=st.sampled_from(list(Misfire)),
)
def test_decide_matches_the_reference_for_every_policy(
    period: int, first: int, late_us: int, grace_us: int, policy: Misfire
) -> None:
    trigger, anchor = every(period)
    first_due = anchor + first * period * S
    now = first_due + late_us * US
    grace = grace_us * US
    due = [first_due + k * period * S for k in range(late_us // (period * 10**6) + 1)]
    assert due[-1] <= now < due[-1] + period * S

    d = decide(trigger, policy, first_due, now, grace)

    fire, missed, count = expected(due, policy, now, grace)
    assert d.fire == fire
    assert d.missed == missed
    assert d.missed_count == count
    assert d.next_fire_at == due[-1] + period * S  # the first fire time after now
    assert len(set(d.fire)) == len(d.fire), "a fire time never gets two runs"
    assert not set(d.fire) & set(d.missed)


@pytest.mark.parametrize("policy", list(Misfire))
def test_within_the_grace_every_due_time_fires_normally_one_run_each(policy: Misfire) -> None:
    trigger, anchor = every(1)
    now = anchor + timedelta(seconds=5.5)
    d = decide(trigger, policy, anchor, now, timedelta(seconds=10))
    assert d.fire == [anchor + n * S for n in range(6)]
    assert (d.missed, d.missed_count) == ([], 0)
    assert d.next_fire_at == anchor + 6 * S


@pytest.mark.parametrize("policy", list(Misfire))
def test_a_time_exactly_grace_late_is_on_time_and_a_microsecond_more_is_missed(
    policy: Misfire,
) -> None:
    """Missed means handled *more than* the grace late (the contract's words)."""
    trigger, anchor = every(60)
    on_time = decide(trigger, policy, anchor, anchor + S, S)
    assert (on_time.fire, on_time.missed_count) == ([anchor], 0)
    late = decide(trigger, policy, anchor, anchor + S + US, S)
    assert late.missed_count == 1
    assert late.fire == ([] if policy is Misfire.SKIP else [anchor])
    exact = decide(trigger, policy, anchor, anchor, timedelta(0))  # grace 0, handled on time
    assert exact.fire == [anchor]


def test_nothing_is_due_before_the_first_fire_time() -> None:
    trigger, anchor = every(10)
    d = decide(trigger, Misfire.RUN_ALL, anchor, anchor - US, S)
    assert (d.fire, d.missed, d.missed_count, d.next_fire_at) == ([], [], 0, anchor)


def scenario(policy: Misfire) -> tuple[list[datetime], list[datetime], int, list[datetime]]:
    """A per-minute cron whose scheduler was down from 12:00:30 to 12:10:00.5."""
    trigger = make_trigger(cron="* * * * *", now=T0)
    first_due = T0 + timedelta(minutes=1)  # 12:01, not handled: the scheduler was down
    now = T0 + timedelta(minutes=10, milliseconds=500)
    d = decide(trigger, policy, first_due, now, S)
    assert d.next_fire_at == T0 + timedelta(minutes=11)
    minutes = [T0 + timedelta(minutes=m) for m in range(1, 11)]
    return d.fire, d.missed, d.missed_count, minutes


def test_skip_runs_none_of_the_missed_times_and_records_them() -> None:
    fire, missed, count, minutes = scenario(Misfire.SKIP)
    assert fire == minutes[-1:]  # 12:10 is 0.5 s late: on time
    assert missed == minutes[:-1]
    assert count == 9


def test_run_once_runs_once_at_the_latest_missed_time_plus_the_on_time_ones() -> None:
    fire, missed, count, minutes = scenario(Misfire.RUN_ONCE)
    assert fire == [minutes[-2], minutes[-1]]  # 12:09 stands for 12:01..12:09; 12:10 on time
    assert missed == minutes[:-2]  # folded into the 12:09 run, recorded as missed
    assert count == 9


def test_run_all_runs_one_per_missed_time() -> None:
    fire, missed, count, minutes = scenario(Misfire.RUN_ALL)
    assert fire == minutes
    assert (missed, count) == ([], 9)


@pytest.mark.parametrize("cron", [None, "* * * * * *"])
def test_run_all_runs_at_most_the_100_most_recent_missed_times(cron: str | None) -> None:
    trigger = make_trigger(every=1, now=T0) if cron is None else make_trigger(cron=cron, now=T0)
    first_due = fire_times(trigger, T0, T0 + 10 * S, 1)[0]
    now = first_due + timedelta(seconds=249, milliseconds=200)  # 250 due, the last on time
    d = decide(trigger, Misfire.RUN_ALL, first_due, now, S)
    assert d.missed_count == 249
    assert len(d.fire) == RUN_ALL_LIMIT + 1
    assert d.fire == [first_due + n * S for n in range(149, 250)]  # the most recent 100, + 1
    skip = decide(trigger, Misfire.SKIP, first_due, now, S)
    assert (skip.missed_count, len(skip.missed)) == (249, RUN_ALL_LIMIT)


def test_a_long_outage_of_a_cron_is_counted_without_listing_every_time() -> None:
    trigger = make_trigger(cron="*/5 * * * *", now=T0)
    now = T0 + timedelta(days=30, seconds=10)
    d = decide(trigger, Misfire.RUN_ONCE, T0, now, S)
    assert d.missed_count == 30 * 24 * 12 + 1  # 12:00 on day 0 to 12:00 on day 30
    assert d.fire == [T0 + timedelta(days=30)]
    assert len(d.missed) == RUN_ALL_LIMIT - 1


def test_an_at_trigger_missed_runs_once_or_not_at_all() -> None:
    trigger = make_trigger(at=T0, now=T0 - timedelta(days=1))
    late = T0 + timedelta(hours=1)
    assert decide(trigger, Misfire.RUN_ONCE, T0, late, S).fire == [T0]
    assert decide(trigger, Misfire.RUN_ALL, T0, late, S).fire == [T0]
    skipped = decide(trigger, Misfire.SKIP, T0, late, S)
    assert (skipped.fire, skipped.missed, skipped.next_fire_at) == ([], [T0], None)


@pytest.mark.parametrize("policy", list(Misfire))
def test_missed_times_across_a_dst_change_are_real_fire_times(policy: Misfire) -> None:
    """A daily 02:30 Berlin job down over the spring-forward night: 03:00 is the fire time."""
    trigger = make_trigger(cron="30 2 * * *", timezone="Europe/Berlin", now=T0)
    first_due = datetime(2025, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 CET
    jump = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 03:00 CEST, the day's only fire
    now = datetime(2025, 3, 30, 12, 0, tzinfo=UTC)
    d = decide(trigger, policy, first_due, now, S)
    assert d.missed_count == 2
    assert set(d.fire) | set(d.missed) == {first_due, jump}
    assert d.next_fire_at == datetime(2025, 3, 31, 0, 30, tzinfo=UTC)
