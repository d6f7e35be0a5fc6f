"""Launch options turned into rows: delay vs run_at, priority, attempts, queue, unique key."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rota.errors import InvalidArguments
from rota.jobs import JobOptions, JobSpec, LaunchOptions
from rota.launch import build_runs, idempotency_key
from rota.limits import MAX_AHEAD_SECONDS, MAX_ARGS_BYTES
from rota.runs import RunState

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def send(order_id: int) -> None:
    pass


SPEC = JobSpec.from_function(
    send, "send", JobOptions(queue="mail", max_attempts=5, priority=2, timeout=30)
)


def build(args: list[dict[str, Any]] | None = None, **options: Any) -> list[Any]:
    return build_runs(SPEC, args or [{"order_id": 1}], LaunchOptions(**options), NOW)


def test_defaults_come_from_the_job() -> None:
    [run] = build()
    assert run.job == "send"
    assert run.args == {"order_id": 1}
    assert run.queue == "mail"
    assert run.priority == 2
    assert run.max_attempts == 5
    assert run.timeout == 30
    assert run.run_at == NOW
    assert run.state is RunState.QUEUED
    assert run.unique_key is None and run.schedule is None


def test_launch_options_override_the_job() -> None:
    [run] = build(priority=-3, queue="urgent", max_attempts=1, unique_key="k")
    assert (run.priority, run.queue, run.max_attempts, run.unique_key) == (-3, "urgent", 1, "k")


@pytest.mark.parametrize("delay", [90, 90.0, timedelta(seconds=90)])
def test_delay_schedules_the_run(delay: Any) -> None:
    [run] = build(delay=delay)
    assert run.run_at == NOW + timedelta(seconds=90)
    assert run.state is RunState.SCHEDULED


def test_zero_delay_is_queued_now() -> None:
    [run] = build(delay=0)
    assert run.run_at == NOW and run.state is RunState.QUEUED


def test_run_at_in_the_future_past_and_other_zones() -> None:
    [future] = build(run_at=NOW + timedelta(hours=1))
    assert future.state is RunState.SCHEDULED and future.run_at == NOW + timedelta(hours=1)

    [past] = build(run_at=NOW - timedelta(hours=1))
    assert past.state is RunState.QUEUED  # overdue: may start now

    paris = timezone(timedelta(hours=1))
    [zoned] = build(run_at=datetime(2030, 1, 1, 14, 0, tzinfo=paris))
    assert zoned.run_at == NOW + timedelta(hours=1)
    assert zoned.run_at.utcoffset() == timedelta(0)

    [naive] = build(run_at=datetime(2030, 1, 1, 13, 0))  # naive: taken as UTC
    assert naive.run_at == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delay": 5, "run_at": NOW}, "either delay or run_at"),
        ({"delay": -1}, "delay must be from 0 to"),
        ({"delay": timedelta(seconds=-1)}, "delay must be from 0 to"),
        ({"delay": math.nan}, "delay must be from 0 to"),
        ({"delay": math.inf}, "delay must be from 0 to"),
        ({"delay": 11 * 365 * 86400}, "delay must be from 0 to"),
        ({"delay": "5"}, "delay must be seconds or a timedelta"),
        ({"delay": True}, "delay must be seconds or a timedelta"),
        ({"run_at": "2030-01-01"}, "run_at must be a datetime"),
        ({"priority": "high"}, "priority must be an integer"),
        ({"priority": 1.5}, "priority must be an integer"),
        ({"priority": True}, "priority must be an integer"),
        ({"priority": 2**31}, "priority must be an integer"),
        ({"max_attempts": 0}, "max_attempts must be an integer"),
        ({"max_attempts": "3"}, "max_attempts must be an integer"),
        ({"queue": ""}, "queue must be a name of 1 to 200"),
        ({"queue": 5}, "queue must be a name of 1 to 200"),
        ({"unique_key": ""}, "unique_key must be a string of 1 to 1000"),
        ({"unique_key": 7}, "unique_key must be a string of 1 to 1000"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArguments, match=message):
        build(**options)


def test_extreme_priorities_are_allowed() -> None:
    assert build(priority=-(2**31))[0].priority == -(2**31)
    assert build(priority=2**31 - 1)[0].priority == 2**31 - 1


def test_many_runs_share_the_options_and_validate_every_argument_set() -> None:
    runs = build([{"order_id": n} for n in range(3)], delay=10)
    assert [r.args["order_id"] for r in runs] == [0, 1, 2]
    assert {r.run_at for r in runs} == {NOW + timedelta(seconds=10)}

    with pytest.raises(InvalidArguments, match="order_id"):
        build([{"order_id": 1}, {"order_id": "two"}, {"order_id": 3}])


def test_no_arguments_no_runs() -> None:
    assert build_runs(SPEC, [], LaunchOptions(), NOW) == []


def test_run_at_and_delay_share_one_horizon() -> None:
    """``run_at`` was unbounded while ``delay`` stopped at 10 years: one limit for both."""
    edge = NOW + timedelta(seconds=MAX_AHEAD_SECONDS)
    assert build(run_at=edge)[0].run_at == edge
    assert build(delay=MAX_AHEAD_SECONDS)[0].run_at == edge
    for far in (edge + timedelta(seconds=1), datetime(9999, 12, 31, tzinfo=UTC)):
        with pytest.raises(InvalidArguments, match="run_at must be at most 315360000 seconds"):
            build(run_at=far)
    with pytest.raises(InvalidArguments, match="delay must be from 0 to 315360000 seconds"):
        build(delay=MAX_AHEAD_SECONDS + 1)


def test_arguments_over_the_size_limit_are_refused_with_their_size() -> None:
    def store(text: str) -> None:
        pass

    spec = JobSpec.from_function(store, "store", JobOptions())
    fits = "x" * (MAX_ARGS_BYTES - len('{"text":""}'))
    assert build_runs(spec, [{"text": fits}], LaunchOptions(), NOW)[0].args == {"text": fits}
    too_big = {"text": fits + "é"}  # two more bytes in UTF-8
    size = MAX_ARGS_BYTES + 2
    with pytest.raises(
        InvalidArguments, match=f"arguments are {size} bytes as JSON.*{MAX_ARGS_BYTES}"
    ):
        build_runs(spec, [too_big], LaunchOptions(), NOW)


def test_a_refused_item_of_many_is_named_by_its_index() -> None:
    with pytest.raises(InvalidArguments) as info:
        build([{"order_id": 1}, {"order_id": 2}, {"order_id": 3}, {}])
    assert str(info.value) == "item 3 (counting from 0): job 'send': missing argument(s) order_id"
    with pytest.raises(InvalidArguments) as one:
        build([{}])
    assert str(one.value) == "job 'send': missing argument(s) order_id"


@pytest.mark.parametrize(
    "options",
    [{"queue": "q" * 100_000}, {"unique_key": "k" * 100_000}, {"idempotency_key": "i" * 100_000}],
    ids=["queue", "unique_key", "idempotency_key"],
)
def test_a_huge_bad_option_is_quoted_short(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidArguments) as info:
        rows = build(**options)
        idempotency_key(rows, LaunchOptions(**options), NOW)
    message = str(info.value)
    assert len(message) < 300, message
    assert "... (100000 characters)" in message
