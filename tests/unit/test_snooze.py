"""``rota.Snooze``: its wait checked where the job raises it, and the outcome a worker decides."""

from __future__ import annotations

import math
import pickle
from datetime import UTC, datetime, timedelta

import pytest

import rota
from rota.context import Context
from rota.errors import InvalidInput
from rota.jobs import JobOptions, JobSpec
from rota.limits import MAX_AHEAD_SECONDS
from rota.runs import Run, RunState
from rota.worker.attempt import Attempt, outcome

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "seconds"),
    [
        (0, 0.0),
        (2.5, 2.5),
        (60, 60.0),
        (timedelta(minutes=2), 120.0),
        (MAX_AHEAD_SECONDS, 3.1536e8),
    ],
)
def test_after_takes_seconds_or_a_timedelta(after: float | timedelta, seconds: float) -> None:
    snooze = rota.Snooze(after=after)
    assert snooze.after == seconds
    assert snooze.delay == timedelta(seconds=seconds)
    assert str(snooze) == f"snoozed for {seconds:g}s"


@pytest.mark.parametrize(
    "after",
    [-1, -0.001, timedelta(days=-1), math.nan, math.inf, -math.inf, MAX_AHEAD_SECONDS + 1, 10**400],
    ids=repr,
)
def test_a_wait_out_of_range_is_refused_when_raised(after: float | timedelta) -> None:
    with pytest.raises(InvalidInput, match=r"rota\.Snooze\(after=\.\.\.\) must be from 0 to"):
        rota.Snooze(after=after)


@pytest.mark.parametrize("after", [True, "5", None, [1]], ids=repr)
def test_a_wait_of_another_type_is_refused_when_raised(after: object) -> None:
    with pytest.raises(InvalidInput, match="takes seconds or a timedelta"):
        rota.Snooze(after=after)  # type: ignore[arg-type]


def test_a_snooze_survives_a_pickle_with_its_wait() -> None:
    assert pickle.loads(pickle.dumps(rota.Snooze(after=7))).after == 7.0


def attempt_of(run: Run) -> Attempt:
    def job() -> None: ...

    spec = JobSpec.from_function(job, "j", JobOptions())
    ctx = Context(run.id, run.attempt, run.job)
    return Attempt(run=run, spec=spec, ctx=ctx, started=0.0, deadline=None)


def running(attempt: int, max_attempts: int = 3) -> Run:
    return Run(
        id=1,
        job="j",
        queue="default",
        state=RunState.RUNNING,
        args={},
        priority=0,
        attempt=attempt,
        max_attempts=max_attempts,
        schedule=None,
        unique_key=None,
        run_at=NOW - timedelta(hours=1),
        created_at=NOW - timedelta(hours=1),
        started_at=NOW,
        finished_at=None,
        result=None,
        node_id="n",
    )


@pytest.mark.parametrize("attempt", [1, 3])
def test_a_snooze_gives_the_attempt_back_without_an_entry(attempt: int) -> None:
    o = outcome(attempt_of(running(attempt)), "n", NOW, exc=rota.Snooze(after=30))

    assert o.then.state is RunState.SCHEDULED
    assert o.then.attempt == attempt - 1  # even the last attempt: a snooze never uses one
    assert o.then.run_at == NOW + timedelta(seconds=30)
    assert o.then.error is None and o.then.finished_at is None
    assert o.if_cancelled.state is RunState.CANCELLED  # a cancel requested meanwhile wins
    assert o.if_cancelled.attempt == attempt and o.if_cancelled.error is None
