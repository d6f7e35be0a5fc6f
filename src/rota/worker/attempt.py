"""One attempt of one run: call the job, and turn what happened into an Outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rota.context import Context
from rota.errors import Discard, Retry, Snooze
from rota.jobs import JobSpec
from rota.retry import decide_failure
from rota.runs import ErrorEntry, Event, Outcome, Run
from rota.worker.storable import check_result, describe, error_entry
from rota.workflows import Upstream

log = logging.getLogger("rota.worker")


class JobTimeout(Exception):
    """The attempt ran longer than the job's timeout."""


class WorkerLost(Exception):
    """The node running the attempt died or its job's process was lost."""


class JobExit(Exception):
    """Carries a SystemExit or KeyboardInterrupt an async job raised.

    asyncio lets those two escape its event loop, which would stop every async job of the
    worker; wrapped, they fail only their own attempt (the report unwraps them).
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(type(original).__name__)
        self.original = original


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
    upstream: Callable[[int], dict[str, Any]] | None = None
    """Reads a workflow step's upstream results (for a parameter annotated rota.Upstream)."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.run.id, self.run.attempt)

    def kwargs(self) -> dict[str, Any]:
        kwargs = self.spec.call_args(self.run.args)
        if self.spec.context_param:
            kwargs[self.spec.context_param] = self.ctx
        name = self.spec.extra.get("upstream")
        if name is not None:  # read on the job's thread, when it starts: a failure fails it
            found = self.upstream(self.run.id) if self.upstream and self.run.workflow else {}
            kwargs[name] = Upstream(found)
        return kwargs


def loop_deadline(spec: JobSpec, timeout: float | None, now: float) -> float | None:
    """When the worker's loop fails a sync job's attempt (a thread cannot be killed); None for
    async jobs (their task times out) and process jobs (their child is killed at the timeout)."""
    if not timeout or spec.is_async or spec.options.executor == "process":
        return None
    return now + timeout


def call_sync(attempt: Attempt) -> Any:
    return attempt.spec.func(**attempt.kwargs())


async def _contained(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        raise JobExit(exc) from None


async def call_async(attempt: Attempt) -> Any:
    # contained inside wait_for's own task too: that task would let them escape the loop
    coro = _contained(attempt.spec.func(**attempt.kwargs()))
    timeout = attempt.run.timeout
    if timeout is None:
        return await coro
    try:
        return await asyncio.wait_for(coro, timeout)
    except TimeoutError:
        raise JobTimeout(f"timed out after {timeout:g}s") from None


def outcome(
    attempt: Attempt,
    node_id: str,
    now: datetime,
    *,
    result: Any = None,
    exc: BaseException | None = None,
    cancelled: bool = False,
) -> Outcome:
    """Decide the run's next state from how its attempt ended (pure but for the clock).

    Never raises: should deciding fail (a user's backoff function raising, say), the run
    fails with an entry that names both the job's error and what went wrong deciding.
    """
    try:
        return _decide(attempt, node_id, now, result, exc, cancelled)
    except BaseException as bug:  # the job's code runs here too: __str__, dict subclasses
        log.exception("run %s: deciding the outcome of attempt %s failed", *attempt.key)
        return failed_outcome(attempt, node_id, now, exc, bug)


def failed_outcome(
    attempt: Attempt, node_id: str, now: datetime, exc: BaseException | None, bug: BaseException
) -> Outcome:
    """The run failed, its entry naming the job's error (if any) and what went wrong after."""
    run = attempt.run
    what = f"rota could not record this attempt's outcome ({type(bug).__name__}: {describe(bug)})"
    try:
        entry = error_entry(run.attempt, exc if exc is not None else bug, now, note=what)
    except BaseException:  # the last resort: nothing of the job's, only plain text
        entry = ErrorEntry(run.attempt, "RotaError", "rota could not record this outcome", "", now)
    return Outcome.of(run, node_id, Event.DISCARD, now, error=entry)


def _decide(
    attempt: Attempt,
    node_id: str,
    now: datetime,
    result: Any,
    exc: BaseException | None,
    cancelled: bool,
) -> Outcome:
    run = attempt.run
    if isinstance(exc, JobExit):
        exc = exc.original
    if cancelled or (exc is not None and isinstance(exc, asyncio.CancelledError)):
        return Outcome.of(run, node_id, Event.STOP, now)
    if isinstance(exc, Snooze):  # no entry, the attempt given back; a cancel still wins
        return Outcome.of(run, node_id, Event.SNOOZE, now, delay=exc.delay)
    if exc is None:
        exc = check_result(result)
        if exc is None:
            return Outcome.of(run, node_id, Event.SUCCEED, now, result=result)
    entry = error_entry(run.attempt, exc, now)
    if attempt.ctx.cancelled and not isinstance(exc, JobTimeout):
        return Outcome.of(run, node_id, Event.STOP, now, error=entry)
    discard = isinstance(exc, Discard)
    failure = decide_failure(  # the backoff; the state is the table's, decided again below
        run.attempt,
        run.max_attempts,
        discard=discard,
        retry_after=exc.after if isinstance(exc, Retry) else None,
        policy=attempt.spec.options.backoff,
    )
    event = Event.DISCARD if discard else Event.FAIL
    return Outcome.of(run, node_id, event, now, error=entry, delay=failure.delay)


def timeout_outcome(attempt: Attempt, node_id: str, now: datetime) -> Outcome:
    seconds = attempt.run.timeout or 0
    exc = JobTimeout(
        f"timed out after {seconds:g}s (the thread was asked to stop via ctx.cancelled)"
    )
    return outcome(attempt, node_id, now, exc=exc)
