"""The one launch path: every launcher (Python API, CLI, REST, scheduler) creates runs here.

Validate the job and its arguments, turn launch options into rows, insert them (unique keys
resolve to the existing run), and wake local workers. Nothing is stored when anything is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rota.errors import InvalidArguments, UnknownJob
from rota.jobs import JobSpec, LaunchOptions
from rota.runs import RunState
from rota.storage.base import Inserted, InsertParams, NewRun, RunStore


def resolve_run_at(options: LaunchOptions, now: datetime) -> datetime:
    if options.delay is not None and options.run_at is not None:
        raise InvalidArguments("give either delay or run_at, not both")
    if options.delay is not None:
        delay = options.delay
        if isinstance(delay, bool) or not isinstance(delay, int | float | timedelta):
            raise InvalidArguments(f"delay must be seconds or a timedelta, got {delay!r}")
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        if seconds < 0 or seconds != seconds or seconds > 10 * 365 * 86400:
            raise InvalidArguments(f"delay must be between 0 and 10 years, got {seconds}")
        return now + timedelta(seconds=seconds)
    if options.run_at is not None:
        if not isinstance(options.run_at, datetime):
            raise InvalidArguments(f"run_at must be a datetime, got {options.run_at!r}")
        at = options.run_at
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return now


def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArguments(f"{name} must be an integer from {low} to {high}, got {value!r}")
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
    if not isinstance(queue, str) or not queue or len(queue) > 200:
        raise InvalidArguments(f"queue must be a non-empty name, got {queue!r}")
    key = options.unique_key
    if key is not None and (not isinstance(key, str) or not key or len(key) > 1000):
        raise InvalidArguments(f"unique_key must be a non-empty string, got {key!r}")
    return [
        NewRun(
            job=spec.name,
            args=spec.validate(args),
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            run_at=run_at,
            state=state,
            unique_key=key,
            schedule=options.schedule,
            timeout=spec.options.timeout,
        )
        for args in args_list
    ]


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
    inserted = store.runs_insert_many(InsertParams(rows, now, options.connection))
    if wake is not None and options.connection is None:
        wake()
    return inserted
