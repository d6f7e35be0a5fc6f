"""Backoff and retry decisions: pure functions, no I/O."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from rota.runs import RunState


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
        exp = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        spread = exp * self.jitter
        seconds = min(self.cap, max(0.0, exp - spread + 2 * spread * rand()))
        return timedelta(seconds=seconds)


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
    """What a failed attempt leads to: ``retrying`` after a delay, or ``failed``."""
    if discard or attempt >= max_attempts:
        return FailDecision(RunState.FAILED, timedelta(0))
    if retry_after is not None:
        return FailDecision(RunState.RETRYING, timedelta(seconds=max(0.0, retry_after)))
    if policy is None or isinstance(policy, Backoff):
        return FailDecision(RunState.RETRYING, (policy or Backoff()).delay(attempt, rand))
    return FailDecision(RunState.RETRYING, timedelta(seconds=max(0.0, float(policy(attempt)))))
