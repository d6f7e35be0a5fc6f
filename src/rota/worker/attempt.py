"""One attempt of one run: call the job, and turn what happened into an Outcome."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rota.context import Context
from rota.errors import Discard, Retry
from rota.jobs import JobSpec
from rota.retry import decide_failure
from rota.runs import ErrorEntry, Run, RunState
from rota.storage.base import Outcome


class JobTimeout(Exception):
    """The attempt ran longer than the job's timeout."""


class WorkerLost(Exception):
    """The node running the attempt died or its job's process was lost."""


@dataclass
class Attempt:
    """An attempt in flight on this node."""

    run: Run
    spec: JobSpec
    ctx: Context
    started: float  # monotonic
    deadline: float | None  # monotonic
    cancel: Callable[[], object] = lambda: None
    settled: bool = field(default=False)  # an outcome was decided already (sync timeout)
    duration: float = 0.0  # seconds from start to end, set when the attempt ends

    @property
    def key(self) -> tuple[int, int]:
        return (self.run.id, self.run.attempt)

    def kwargs(self) -> dict[str, Any]:
        kwargs = self.spec.call_args(self.run.args)
        if self.spec.context_param:
            kwargs[self.spec.context_param] = self.ctx
        return kwargs


def call_sync(attempt: Attempt) -> Any:
    return attempt.spec.func(**attempt.kwargs())


async def call_async(attempt: Attempt) -> Any:
    coro = attempt.spec.func(**attempt.kwargs())
    timeout = attempt.run.timeout
    if timeout is None:
        return await coro
    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError:
        raise JobTimeout(f"timed out after {timeout:g}s") from None


def _error(attempt: int, exc: BaseException, now: datetime) -> ErrorEntry:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return ErrorEntry(
        attempt=attempt,
        type=type(exc).__name__,
        message=str(exc) or type(exc).__name__,
        traceback=tb[-20_000:],
        at=now,
    )


def _jsonable(value: Any) -> tuple[Any, str | None]:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return None, f"the job returned a value that is not JSON ({exc})"
    return value, None


def outcome(
    attempt: Attempt,
    node_id: str,
    now: datetime,
    *,
    result: Any = None,
    exc: BaseException | None = None,
    cancelled: bool = False,
) -> Outcome:
    """Decide the run's next state from how its attempt ended (pure but for the clock)."""
    run = attempt.run

    def make(state: RunState, **rest: Any) -> Outcome:
        return Outcome(run.id, run.attempt, node_id, state, now, **rest)

    if cancelled or (exc is not None and isinstance(exc, asyncio.CancelledError)):
        return make(RunState.CANCELLED)
    if exc is None:
        value, problem = _jsonable(result)
        if problem is None:
            return make(RunState.SUCCEEDED, result=value)
        exc = TypeError(problem)
    if attempt.ctx.cancelled and not isinstance(exc, JobTimeout):
        return make(RunState.CANCELLED, error=_error(run.attempt, exc, now))
    decision = decide_failure(
        run.attempt,
        run.max_attempts,
        discard=isinstance(exc, Discard),
        retry_after=exc.after if isinstance(exc, Retry) else None,
        policy=attempt.spec.options.backoff,
    )
    run_at = now + decision.delay if decision.state is RunState.RETRYING else None
    return make(decision.state, error=_error(run.attempt, exc, now), run_at=run_at)


def timeout_outcome(attempt: Attempt, node_id: str, now: datetime) -> Outcome:
    seconds = attempt.run.timeout or 0
    exc = JobTimeout(
        f"timed out after {seconds:g}s (the thread was asked to stop via ctx.cancelled)"
    )
    return outcome(attempt, node_id, now, exc=exc)
