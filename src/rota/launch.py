"""The one launch path: every launcher (Python API, CLI, REST, scheduler) creates runs here.

Validate the job and its arguments, turn launch options into rows, insert them (unique keys
resolve to the existing run; an idempotency key is stored with its run and returns it for a
day), and wake local workers. Nothing is stored when anything is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rota.errors import InvalidArguments, UnknownJob
from rota.jobs import JobSpec, LaunchOptions, text_problem
from rota.limits import MAX_AHEAD_SECONDS, MAX_KEY, MAX_NAME, quote
from rota.runs import RunState
from rota.storage.base import IdempotencyKey, Inserted, InsertParams, NewRun, RunStore

IDEMPOTENCY_TTL = timedelta(hours=24)
"""How long an idempotency key keeps returning its run (Stripe and the IETF draft: 24 h)."""


def resolve_run_at(options: LaunchOptions, now: datetime) -> datetime:
    """When the run is due: now, ``delay`` from now, or ``run_at`` (in UTC), at most
    MAX_AHEAD_SECONDS ahead whichever way it is given."""
    if options.delay is not None and options.run_at is not None:
        raise InvalidArguments("give either delay or run_at, not both")
    if options.delay is not None:
        delay = options.delay
        if isinstance(delay, bool) or not isinstance(delay, int | float | timedelta):
            raise InvalidArguments(f"delay must be seconds or a timedelta, got {quote(delay)}")
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        if not 0 <= seconds <= MAX_AHEAD_SECONDS:  # NaN fails too
            raise InvalidArguments(
                f"delay must be from 0 to {MAX_AHEAD_SECONDS} seconds (10 years), got {seconds:g}"
            )
        return now + timedelta(seconds=seconds)
    if options.run_at is None:
        return now
    if not isinstance(options.run_at, datetime):
        raise InvalidArguments(f"run_at must be a datetime, got {quote(options.run_at)}")
    at = options.run_at
    try:
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
        raise InvalidArguments(f"run_at is out of range in UTC: {at.isoformat()}") from None
    if (at - now).total_seconds() > MAX_AHEAD_SECONDS:
        raise InvalidArguments(
            f"run_at must be at most {MAX_AHEAD_SECONDS} seconds (10 years) ahead, "
            f"got {at.isoformat()}"
        )
    return at


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArguments(
            f"{name} must be an integer from {low} to {high}, got {quote(value)}"
        )
    return value


def build_runs(
    spec: JobSpec, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions, now: datetime
) -> list[NewRun]:
    run_at = resolve_run_at(options, now)
    state = RunState.SCHEDULED if run_at > now else RunState.QUEUED
    priority = _check_int(
        "priority",
        spec.options.priority if options.priority is None else options.priority,
        -(2**31),
        2**31 - 1,
    )
    max_attempts = _check_int(
        "max_attempts",
        spec.options.max_attempts if options.max_attempts is None else options.max_attempts,
        1,
        1_000_000,
    )
    queue = spec.options.queue if options.queue is None else options.queue
    if not isinstance(queue, str) or not 1 <= len(queue) <= MAX_NAME:
        raise InvalidArguments(
            f"queue must be a name of 1 to {MAX_NAME} characters, got {quote(queue)}"
        )
    key = options.unique_key
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY):
        raise InvalidArguments(
            f"unique_key must be a string of 1 to {MAX_KEY} characters, got {quote(key)}"
        )
    for name, text in (("queue", queue), ("unique_key", key)):
        problem = text_problem(text) if text is not None else None
        if problem:
            raise InvalidArguments(f"{name}: {problem}")
    batch = spec.extra.get("batch")
    return [
        NewRun(
            job=spec.name,
            args=(valid := _validate(spec, args, i, len(args_list))),
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            run_at=run_at,
            state=state,
            unique_key=key,
            schedule=options.schedule,
            timeout=spec.options.timeout,
            kind="batch" if batch is not None else "function",
            batch=batch.launch(valid) if batch is not None else None,
            concurrency_group=(groups := _groups(spec, valid, i, len(args_list)))[0],
            rate_group=groups[1],
        )
        for i, args in enumerate(args_list)
    ]


def _validate(spec: JobSpec, args: Mapping[str, Any], index: int, count: int) -> dict[str, Any]:
    """The arguments checked; in a launch of many, a refusal names the item (from 0)."""
    try:
        return spec.validate(args)
    except InvalidArguments as exc:
        if count == 1:
            raise
        raise InvalidArguments(f"item {index} (counting from 0): {exc}") from None


def _groups(
    spec: JobSpec, valid: Mapping[str, Any], index: int, count: int
) -> tuple[str | None, str | None]:
    """The groups of a limited job's run; a key value too long is refused like an argument."""
    try:
        return spec.groups(valid)
    except InvalidArguments as exc:
        if count == 1:
            raise
        raise InvalidArguments(f"item {index} (counting from 0): {exc}") from None


def launch(
    store: RunStore,
    jobs: Mapping[str, JobSpec],
    job: str,
    args_list: Sequence[Mapping[str, Any]],
    options: LaunchOptions,
    now: datetime,
    wake: Callable[[], None] | None = None,
) -> list[Inserted]:
    """Create runs of ``job``; all or nothing. Returns one entry per element of ``args_list``."""
    spec = jobs.get(job)
    if spec is None:
        raise UnknownJob(job)
    rows = build_runs(spec, args_list, options, now)
    if not rows:
        return []
    idempotency = idempotency_key(rows, options, now)
    inserted = store.runs_insert_many(InsertParams(rows, now, options.connection, idempotency))
    if wake is not None and options.connection is None:
        wake()
    return inserted


def idempotency_key(
    rows: Sequence[NewRun], options: LaunchOptions, now: datetime
) -> IdempotencyKey | None:
    """The key to store with a single launch, with a fingerprint of what it launches."""
    key = options.idempotency_key
    if key is None:
        return None
    if not isinstance(key, str) or not 1 <= len(key) <= 255 or text_problem(key):
        raise InvalidArguments(f"idempotency_key must be 1 to 255 characters, got {quote(key)}")
    if len(rows) != 1:
        raise InvalidArguments("an idempotency key applies to a launch of exactly one run")
    return IdempotencyKey(key, fingerprint(rows[0], options), now + IDEMPOTENCY_TTL)


def fingerprint(run: NewRun, options: LaunchOptions) -> str:
    """A digest of the launch as asked: job, arguments and the options given.

    A delay is taken as given, not as the ``run_at`` it resolves to now, so that a repeat of
    the same request matches; a ``run_at`` is taken in UTC.
    """
    delay = options.delay
    if isinstance(delay, timedelta):
        delay = delay.total_seconds()
    asked = {
        "job": run.job,
        "args": run.args,
        "delay": None if delay is None else float(delay),
        "run_at": run.run_at.isoformat() if options.run_at is not None else None,
        "priority": options.priority,
        "queue": options.queue,
        "unique_key": options.unique_key,
        "max_attempts": options.max_attempts,
        "schedule": options.schedule,
    }
    text = json.dumps(asked, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
