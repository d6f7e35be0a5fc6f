"""``app.runs.summary()``: what the overview page shows, from runs put in each state by a
real worker loop (``drain``) on both backends, at times set by the app's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import rota
from rota.errors import InvalidInput
from rota.limits import MAX_WINDOW_MINUTES
from rota.runs import RunState
from rota.runs_summary import COUNT_CAP, MinuteBucket


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2030, 1, 1, 11, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def set(self, hh: int, mm: int, ss: int = 0) -> None:
        self.t = at(hh, mm, ss)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2030, 1, 1, hh, mm, ss, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[rota.App]:
    a = rota.App(database=database_url, clock=clock)

    @a.job
    def ok(n: int = 0) -> int:
        return n

    @a.job(queue="mail", max_attempts=1)
    def boom() -> None:
        raise ValueError("boom")

    yield a
    a.close()


def put_runs_in_every_state(app: rota.App, clock: Clock) -> None:
    clock.set(11, 20)  # ends before the window of an hour to 12:30:20
    app.enqueue("ok")
    app.drain(["default"])
    clock.set(11, 31, 5)  # the window's first minute
    app.enqueue("ok")
    app.enqueue("ok")
    app.drain(["default"])
    clock.set(12, 10, 59)
    kept, retried = app.enqueue("boom"), app.enqueue("boom")
    app.drain(["mail"])
    clock.set(12, 10, 10)
    app.runs.cancel(app.enqueue("ok", delay=3600).id)  # scheduled, cancelled at once
    clock.set(12, 30)  # the window's last minute
    app.enqueue("ok")
    app.drain(["default"])
    clock.set(12, 0)
    app.enqueue("ok", queue="a")
    clock.set(12, 5)
    app.enqueue("ok", queue="a")
    clock.set(12, 15)
    app.enqueue("ok", queue="c", run_at=at(11, 0))  # due when it was created
    clock.set(12, 20)
    app.runs.retry([retried.id])  # queued again: due at the retry, no longer counted ended
    assert app.runs.get(kept.id).state is RunState.FAILED


def test_summary_of_an_hour(app: rota.App, clock: Clock) -> None:
    put_runs_in_every_state(app, clock)
    clock.set(12, 30, 20)

    summary = app.runs.summary()

    assert summary.now == at(12, 30, 20)
    assert summary.counts == {
        (RunState.SUCCEEDED, "default"): 4,
        (RunState.FAILED, "mail"): 1,
        (RunState.CANCELLED, "default"): 1,
        (RunState.QUEUED, "a"): 2,
        (RunState.QUEUED, "c"): 1,
        (RunState.QUEUED, "mail"): 1,
    }
    assert summary.count_cap == COUNT_CAP
    assert summary.oldest_queued == {"a": at(12, 0), "c": at(12, 15), "mail": at(12, 20)}

    minutes = summary.per_minute
    assert len(minutes) == 60
    assert [b.minute for b in minutes] == [at(11, 31) + timedelta(minutes=i) for i in range(60)]
    busy = [b for b in minutes if b.succeeded or b.failed or b.cancelled]
    assert busy == [
        MinuteBucket(at(11, 31), succeeded=2),
        MinuteBucket(at(12, 10), failed=1, cancelled=1),
        MinuteBucket(at(12, 30), succeeded=1),
    ]


def test_summary_of_a_shorter_window(app: rota.App, clock: Clock) -> None:
    put_runs_in_every_state(app, clock)
    clock.set(12, 31, 0)
    minutes = app.runs.summary(window=timedelta(minutes=2)).per_minute
    assert minutes == [MinuteBucket(at(12, 30), succeeded=1), MinuteBucket(at(12, 31))]


def test_summary_of_nothing(app: rota.App, clock: Clock) -> None:
    summary = app.runs.summary(window=timedelta(minutes=5))
    assert summary.counts == {} and summary.oldest_queued == {}
    assert summary.per_minute == [MinuteBucket(at(10, 56) + timedelta(minutes=i)) for i in range(5)]


@pytest.mark.parametrize(
    "window",
    [timedelta(0), timedelta(seconds=90), timedelta(minutes=MAX_WINDOW_MINUTES + 1), 3600],
)
def test_summary_refuses_a_window_that_is_not_whole_minutes_in_range(
    app: rota.App, window: object
) -> None:
    with pytest.raises(InvalidInput, match="window"):
        app.runs.summary(window=window)  # type: ignore[arg-type]
