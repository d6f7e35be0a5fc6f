"""Run use cases shared by every operator surface (Python API, CLI, REST): one path per verb."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rota.errors import InvalidInput, RunNotFound
from rota.limits import MAX_AGE_SECONDS, MAX_ID, MAX_PAGE, quote
from rota.runs import Run, RunState
from rota.storage.base import CancelParams, ListParams, PurgeParams, RetryParams, RunStore

BULK_BATCH = 1000


def check_id(value: object, what: str = "run id") -> int:
    """An id as the databases hold it (1 to MAX_ID); anything else is refused, not looked up."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{what} must be a whole number from 1 to {MAX_ID}, got {quote(value)}")
    return value


def check_page(limit: object) -> int:
    """A list call's page size: 1 to MAX_PAGE, the same for every launcher."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}, got {quote(limit)}")
    return limit


def check_age(value: object) -> timedelta:
    """An age (``older_than``): a timedelta or seconds, from 0 to MAX_AGE_SECONDS."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidInput(f"older_than must be seconds or a timedelta, got {quote(value)}")
    if not 0 <= seconds <= MAX_AGE_SECONDS:  # NaN fails too
        raise InvalidInput(
            f"older_than must be from 0 to {MAX_AGE_SECONDS} seconds (100 years), got {seconds:g}"
        )
    return timedelta(seconds=seconds)


def get_run(store: RunStore, run_id: int) -> Run:
    run = store.runs_get(check_id(run_id))
    if run is None:
        raise RunNotFound(run_id)
    return run


def list_runs(
    store: RunStore,
    *,
    states: Sequence[RunState] = (),
    job: str | None = None,
    queue: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> list[Run]:
    limit = check_page(limit)
    before_id = None if before_id is None else check_id(before_id, "cursor")
    return store.runs_list(
        ListParams(tuple(states), job, queue, limit, before_id, created_after, created_before)
    )


def cancel(store: RunStore, run_ids: Sequence[int], now: datetime) -> dict[int, RunState]:
    """Cancel waiting runs at once and ask running ones to stop; unknown ids raise."""
    run_ids = [check_id(rid) for rid in run_ids]
    changed = store.runs_cancel(CancelParams(tuple(run_ids), now))
    result: dict[int, RunState] = {}
    for rid in run_ids:
        if rid in changed:
            result[rid] = changed[rid]
        else:
            result[rid] = get_run(store, rid).state  # terminal already: left as it is
    return result


def retry(store: RunStore, run_ids: Sequence[int], now: datetime) -> list[int]:
    """Put failed or cancelled runs back to queued; returns those that were."""
    run_ids = [check_id(rid) for rid in run_ids]
    for rid in run_ids:
        get_run(store, rid)
    return store.runs_retry(RetryParams(tuple(run_ids), now))


def retry_matching(
    store: RunStore, state: RunState, job: str | None, now: datetime, batch: int = BULK_BATCH
) -> int:
    """Retry every run in ``state`` (of ``job``), in bounded batches; returns how many."""
    total, before = 0, None
    while True:
        runs = store.runs_list(ListParams((state,), job, None, batch, before))
        if not runs:
            return total
        total += len(store.runs_retry(RetryParams([r.id for r in runs], now)))
        before = runs[-1].id


def purge(
    store: RunStore, states: Sequence[RunState], older_than: timedelta | None, now: datetime
) -> int:
    """Delete terminal runs in ``states`` finished before ``now - older_than``, in batches."""
    bad = [s for s in states if not s.terminal]
    if bad:
        raise InvalidInput(f"only terminal runs can be purged, not {', '.join(bad)}")
    before = now - check_age(older_than) if older_than is not None else None
    total = 0
    while True:
        n = store.runs_purge(PurgeParams(tuple(states), before, BULK_BATCH))
        total += n
        if n < BULK_BATCH:
            return total


def delete(store: RunStore, run_id: int) -> bool:
    """Delete one terminal run; False if it is not terminal."""
    get_run(store, run_id)
    return store.runs_delete(run_id)
