"""Retention: how long runs that ended are kept, per terminal state (pure: no I/O).

``App(retention=...)`` takes seconds or a timedelta per terminal state, counted from
``finished_at``; the maintenance leader's pruner deletes older runs. A state not named is kept
forever; ``None`` keeps everything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

from rota.errors import InvalidInput
from rota.limits import MAX_AGE_SECONDS, quote
from rota.runs import RunState

Policy = Mapping[RunState, timedelta]
"""How long runs that ended in each state are kept (a state not in it: forever)."""

Retention = Mapping[str, float | timedelta]
"""What ``App(retention=)`` takes: seconds or a timedelta per terminal state's name."""

DEFAULT_RETENTION: Retention = MappingProxyType({"succeeded": 7 * 86400, "cancelled": 7 * 86400})


def retention_policy(value: object) -> Policy:
    """The policy ``App(retention=)`` names; ``InvalidInput`` naming what is wrong."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise InvalidInput(f"retention must be a mapping of state to age, got {quote(value)}")
    policy: dict[RunState, timedelta] = {}
    for key, age in value.items():
        state = _state(key)
        seconds = age.total_seconds() if isinstance(age, timedelta) else age
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise InvalidInput(
                f"retention[{state.value!r}] must be seconds or a timedelta, got {quote(age)}"
            )
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_AGE_SECONDS):
            raise InvalidInput(
                f"retention[{state.value!r}] must be from 0 to {MAX_AGE_SECONDS} seconds "
                f"(100 years), got {seconds:g}"
            )
        policy[state] = timedelta(seconds=seconds)
    return MappingProxyType(policy)


def _state(key: object) -> RunState:
    try:
        state = RunState(key) if isinstance(key, str) else None
    except ValueError:
        state = None
    if state is None:
        raise InvalidInput(
            f"retention: unknown state {quote(key)}; name succeeded, failed or cancelled"
        )
    if not state.terminal:
        raise InvalidInput(
            f"retention: {state.value!r} is not a terminal state; "
            "name succeeded, failed or cancelled"
        )
    return state


DEFAULT_POLICY: Policy = retention_policy(DEFAULT_RETENTION)
