"""Backoff and retry decisions: pure functions, no I/O."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from rota.runs import Event, RunState, transition

MAX_DELAY = 10 * 365 * 86400.0
"""The longest wait before a retry (as for a launch's delay): later times overflow datetime."""


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=min(MAX_DELAY, max(0.0, value)))  # NaN -> 0, inf -> MAX_DELAY


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full-range jitter: ``base * 2**(attempt-1)``, capped.

    ``jitter`` is the fraction of the delay that is randomised (0.25: the delay lands in
    [0.75 d, 1.25 d]) so that runs failing together do not retry together.
    """

    base: float = 1.0
    cap: float = 3600.0
    jitter: float = 0.25

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> timedelta:
        """The wait after attempt number ``attempt`` (1: the first) failed, jittered."""
        exp = min(self.cap, self.base * 2.0 ** min(max(0, attempt - 1), 1000))  # no overflow
        spread = exp * self.jitter
        return _seconds(min(self.cap, exp - spread + 2 * spread * rand()))


BackoffFn = Callable[[int], float]
"""A user's own backoff: attempt number (1-based) -> seconds."""


def backoff(attempt: int, policy: Backoff | None = None) -> timedelta:
    return (policy or Backoff()).delay(attempt)


@dataclass(frozen=True, slots=True)
class FailDecision:
    state: RunState
    delay: timedelta


def decide_failure(
    attempt: int,
    max_attempts: int,
    *,
    discard: bool = False,
    retry_after: float | None = None,
    policy: Backoff | BackoffFn | None = None,
    rand: Callable[[], float] = random.random,
) -> FailDecision:
    """What a failed attempt leads to: ``retrying`` after a delay, or ``failed``.

    The state is the transition table's (``rota.runs``); this adds the delay, computed (and a
    user's backoff function called) only when there is a next attempt.
    """
    event = Event.DISCARD if discard else Event.FAIL
    state = transition(RunState.RUNNING, event, exhausted=attempt >= max_attempts)
    if state is not RunState.RETRYING:
        return FailDecision(state, timedelta(0))
    if retry_after is not None:
        return FailDecision(RunState.RETRYING, _seconds(retry_after))
    if policy is None or isinstance(policy, Backoff):
        return FailDecision(RunState.RETRYING, (policy or Backoff()).delay(attempt, rand))
    return FailDecision(RunState.RETRYING, _seconds(float(policy(attempt))))
