"""``App(retention=)`` is checked when the app is made: a mapping of terminal states to
seconds or timedeltas, anything else refused with an error naming the state or the age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import rota
from rota.errors import InvalidInput
from rota.retention import DEFAULT_POLICY, retention_policy
from rota.runs import RunState


def test_the_default_keeps_succeeded_and_cancelled_runs_seven_days() -> None:
    week = timedelta(days=7)
    assert dict(DEFAULT_POLICY) == {RunState.SUCCEEDED: week, RunState.CANCELLED: week}
    assert dict(rota.App(database="sqlite:///unused.db").retention) == dict(DEFAULT_POLICY)


def test_seconds_and_timedeltas_per_state() -> None:
    policy = retention_policy({"failed": 90, "succeeded": timedelta(hours=1), "cancelled": 0.5})
    assert dict(policy) == {
        RunState.FAILED: timedelta(seconds=90),
        RunState.SUCCEEDED: timedelta(hours=1),
        RunState.CANCELLED: timedelta(seconds=0.5),
    }
    assert dict(retention_policy(None)) == {} == dict(retention_policy({}))


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"done": 60}, "'done'"),
        ({"queued": 60}, "'queued' is not a terminal state"),
        ({"running": 60}, "'running' is not a terminal state"),
        ({1: 60}, "unknown state 1"),
        ({"failed": -1}, "retention['failed'] must be from 0"),
        ({"failed": timedelta(seconds=-5)}, "retention['failed'] must be from 0"),
        ({"failed": float("nan")}, "retention['failed']"),
        ({"failed": float("inf")}, "retention['failed']"),
        ({"failed": "7d"}, "retention['failed'] must be seconds or a timedelta, got '7d'"),
        ({"failed": True}, "retention['failed'] must be seconds or a timedelta"),
        ({"failed": None}, "retention['failed'] must be seconds or a timedelta"),
        ([("failed", 60)], "retention must be a mapping"),
        (604800, "retention must be a mapping"),
    ],
)
def test_a_bad_retention_is_refused_at_app_naming_it(value: Any, named: str) -> None:
    with pytest.raises(InvalidInput, match=None) as info:
        rota.App(database="sqlite:///unused.db", retention=value)
    assert named in str(info.value)
    assert isinstance(info.value, ValueError)
