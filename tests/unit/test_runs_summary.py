"""The minute maths of the runs summary: one bucket per minute of the window, zeros kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from rota.runs import RunState
from rota.runs_summary import MinuteBucket, minute_buckets, window_minutes

NOW = datetime(2030, 1, 1, 12, 30, 20, 123456, tzinfo=UTC)


def m(hh: int, mm: int) -> datetime:
    return datetime(2030, 1, 1, hh, mm, tzinfo=UTC)


def test_window_ends_with_the_current_minute() -> None:
    minutes = window_minutes(NOW, timedelta(hours=1))
    assert len(minutes) == 60
    assert minutes[0] == m(11, 31) and minutes[-1] == m(12, 30)
    assert all(b - a == timedelta(minutes=1) for a, b in pairwise(minutes))
    assert window_minutes(NOW, timedelta(minutes=1)) == [m(12, 30)]


def test_window_is_in_utc_whatever_the_zone_of_now() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert window_minutes(local, timedelta(minutes=3)) == [m(12, 28), m(12, 29), m(12, 30)]
    assert all(x.tzinfo is UTC for x in window_minutes(local, timedelta(minutes=3)))


def test_buckets_keep_empty_minutes_and_add_each_end() -> None:
    minutes = window_minutes(NOW, timedelta(minutes=4))
    ended = [
        (m(12, 27), RunState.SUCCEEDED, 3),
        (m(12, 27), RunState.FAILED, 1),
        (m(12, 30), RunState.CANCELLED, 2),
        (m(12, 30), RunState.SUCCEEDED, 5),
        (m(12, 26), RunState.SUCCEEDED, 9),  # before the window
        (m(12, 29), RunState.RUNNING, 4),  # not an end
    ]
    assert minute_buckets(minutes, ended) == [
        MinuteBucket(m(12, 27), succeeded=3, failed=1),
        MinuteBucket(m(12, 28)),
        MinuteBucket(m(12, 29)),
        MinuteBucket(m(12, 30), succeeded=5, cancelled=2),
    ]
