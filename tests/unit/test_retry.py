"""Backoff and the decision a failed attempt leads to (pure, property-tested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rota.retry import MAX_DELAY, Backoff, backoff, decide_failure
from rota.runs import RunState

HOUR = 3600.0
attempts = st.integers(min_value=1, max_value=5_000)
unit = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def test_default_backoff_starts_near_one_second_and_doubles() -> None:
    middle = Backoff()  # rand 0.5 lands on the un-jittered delay
    assert [seconds(middle.delay(n, lambda: 0.5)) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert 0.75 <= seconds(backoff(1)) <= 1.25


def test_backoff_is_capped_at_one_hour() -> None:
    policy = Backoff()
    assert seconds(policy.delay(12, lambda: 0.5)) == 2048
    assert seconds(policy.delay(13, lambda: 0.5)) == HOUR
    assert seconds(policy.delay(13, lambda: 0.999)) == HOUR  # jitter never goes past the cap
    assert seconds(policy.delay(10_000, lambda: 0.999)) == HOUR


@given(attempt=attempts, r1=unit, r2=unit)
def test_backoff_grows_with_attempts_until_the_cap(attempt: int, r1: float, r2: float) -> None:
    policy = Backoff(jitter=0.0)
    now, later = policy.delay(attempt, lambda: r1), policy.delay(attempt + 1, lambda: r2)
    assert later >= now
    if seconds(now) < HOUR / 2:
        assert seconds(later) == pytest.approx(2 * seconds(now))


@given(attempt=attempts, r=unit)
def test_default_backoff_stays_within_jitter_bounds(attempt: int, r: float) -> None:
    d = seconds(Backoff().delay(attempt, lambda: r))
    exact = min(HOUR, 2.0 ** min(attempt - 1, 60))
    assert 0.75 * exact - 1e-9 <= d <= min(HOUR, 1.25 * exact) + 1e-9
    assert 0 < d <= HOUR


@given(
    attempt=attempts,
    r=unit,
    base=st.floats(min_value=0.0, max_value=1e6),
    cap=st.floats(min_value=0.0, max_value=1e7),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_any_backoff_policy_is_bounded(
    attempt: int, r: float, base: float, cap: float, jitter: float
) -> None:
    d = seconds(Backoff(base=base, cap=cap, jitter=jitter).delay(attempt, lambda: r))
    assert 0 <= d <= cap + 1e-6


@given(r1=unit, r2=unit)
def test_jitter_is_monotonic_in_the_random_source(r1: float, r2: float) -> None:
    lo, hi = sorted((r1, r2))
    policy = Backoff()
    assert policy.delay(3, lambda: lo) <= policy.delay(3, lambda: hi)
    assert seconds(policy.delay(3, lambda: 0.0)) == 3.0  # 4 s minus a quarter
    assert seconds(policy.delay(3, lambda: 0.999999)) == pytest.approx(5.0, abs=1e-4)


# -- decide_failure -------------------------------------------------------------------------


def test_failure_with_attempts_left_retries_after_backoff() -> None:
    got = decide_failure(1, 3, rand=lambda: 0.5)
    assert got.state is RunState.RETRYING
    assert got.delay == timedelta(seconds=1)
    assert decide_failure(2, 3, rand=lambda: 0.5).delay == timedelta(seconds=2)


def test_last_attempt_fails_the_run() -> None:
    assert decide_failure(3, 3).state is RunState.FAILED
    assert decide_failure(1, 1).state is RunState.FAILED
    assert decide_failure(3, 3, retry_after=5).state is RunState.FAILED  # no attempts left
    assert decide_failure(4, 3).state is RunState.FAILED  # a manual retry past the budget


def test_retry_after_asks_for_that_delay() -> None:
    got = decide_failure(1, 5, retry_after=42.5)
    assert got == decide_failure(1, 5, retry_after=42.5, policy=Backoff(base=100))
    assert got.state is RunState.RETRYING
    assert got.delay == timedelta(seconds=42.5)
    assert decide_failure(1, 5, retry_after=0).delay == timedelta(0)
    assert decide_failure(1, 5, retry_after=-3).delay == timedelta(0)


def test_discard_fails_at_once_with_attempts_left() -> None:
    got = decide_failure(1, 10, discard=True)
    assert got.state is RunState.FAILED
    assert decide_failure(1, 10, discard=True, retry_after=5).state is RunState.FAILED


def test_custom_backoff_policies() -> None:
    assert decide_failure(2, 5, policy=lambda n: n * 10).delay == timedelta(seconds=20)
    assert decide_failure(2, 5, policy=lambda n: -1).delay == timedelta(0)
    fixed = Backoff(base=5, jitter=0)
    assert decide_failure(3, 5, policy=fixed).delay == timedelta(seconds=20)


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    left=st.integers(min_value=0, max_value=10),
    after=st.one_of(
        st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**20), 10**20)
    ),
)
def test_every_decision_gives_a_usable_time(attempt: int, left: int, after: float | None) -> None:
    """Whatever a job asks for, the next run_at is a real datetime (no overflow, not negative)."""
    got = decide_failure(attempt, attempt + left, retry_after=after)
    assert got.state is (RunState.RETRYING if left else RunState.FAILED)
    assert timedelta(0) <= got.delay <= timedelta(seconds=MAX_DELAY)
    assert datetime(2099, 1, 1, tzinfo=UTC) + got.delay > datetime(2098, 1, 1, tzinfo=UTC)


@given(value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_user_backoff_returning_anything_is_bounded(value: float) -> None:
    got = decide_failure(1, 3, policy=lambda n: value)
    assert timedelta(0) <= got.delay <= timedelta(seconds=MAX_DELAY)
