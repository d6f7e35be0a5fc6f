"""Run use cases: get, list, summary, cancel, retry (one by one or by filter), delete, purge.

Every launcher reaches them through ``app.runs`` (``rota.usecases.runs_facade``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rota.errors import InvalidInput, RunNotFound
from rota.jobs import text_problem
from rota.limits import SEARCH_SCOPE
from rota.runs import RETRYABLE, Run, RunState
from rota.runs_summary import COUNT_CAP, RunsSummary, minute_buckets, window_minutes
from rota.storage.base import (
    CancelParams,
    ListParams,
    PurgeParams,
    RetryParams,
    RunStore,
    StatsStore,
    Store,
)
from rota.usecases.inputs import check_age, check_id, check_page, check_search, check_window

BULK_BATCH = 1000


def get(store: RunStore, run_id: int) -> Run:
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
    search: str | None = None,
) -> list[Run]:
    """Runs, newest first; ``search``: only those whose arguments (their JSON text) contain
    it, ignoring case, among the SEARCH_SCOPE ids below the cursor (see ``search_floor``)."""
    limit = check_page(limit)
    before_id = None if before_id is None else check_id(before_id, "cursor")
    search = None if search is None else check_search(search)
    floor = None if search is None else search_floor(store, before_id)
    return store.runs_list(
        ListParams(
            tuple(states),
            job,
            queue,
            limit,
            before_id,
            created_after,
            created_before,
            search,
            min_id=floor,
        )
    )


def search_floor(store: RunStore, before_id: int | None) -> int | None:
    """The lowest run id a search below ``before_id`` (else from the newest run) reads, or
    None when it reaches the first run.

    No index serves a search over arguments, so one list call reads SEARCH_SCOPE ids at most;
    a page that comes back short has not seen the runs below this id: it is the cursor that
    searches on among the older ones.
    """
    newest = store.runs_newest_id()
    if newest is None:
        return None
    top = newest + 1  # a cursor past the newest run starts from it, as if there were none
    if before_id is not None:
        top = min(check_id(before_id, "cursor"), top)
    floor = top - SEARCH_SCOPE
    return floor if floor > 1 else None


def summary(store: StatsStore, now: datetime, window: timedelta) -> RunsSummary:
    """Runs per state and queue (up to COUNT_CAP each), runs ended per minute over the last
    ``window`` (whole minutes, the current one last), and each queue's oldest queued run.

    Every part is read from an index, so its cost follows the runs of the window and the
    queues, not the size of the table.
    """
    minutes = window_minutes(now, check_window(window))
    ended = store.runs_finished_per_minute(minutes[0], minutes[-1] + timedelta(minutes=1))
    counts = store.runs_count_by_state_queue_upto(COUNT_CAP)
    return RunsSummary(
        counts={(c.state, c.queue): c.count for c in counts},
        per_minute=minute_buckets(minutes, [(e.minute, e.state, e.count) for e in ended]),
        oldest_queued={q.queue: q.due for q in store.runs_oldest_queued()},
        now=now,
        count_cap=COUNT_CAP,
    )


def running_per_node(store: StatsStore) -> dict[str, int]:
    """How many runs each node has running, read from the running runs alone."""
    return store.runs_running_per_node()


def cancel(store: RunStore, run_ids: Sequence[int], now: datetime) -> dict[int, RunState]:
    """Cancel waiting runs at once and ask running ones to stop; unknown ids raise."""
    run_ids = [check_id(rid) for rid in run_ids]
    changed = store.runs_cancel(CancelParams(tuple(run_ids), now))
    result: dict[int, RunState] = {}
    for rid in run_ids:
        if rid in changed:
            result[rid] = changed[rid]
        else:
            result[rid] = get(store, rid).state  # terminal already: left as it is
    return result


def retry(store: RunStore, run_ids: Sequence[int], now: datetime) -> list[int]:
    """Put failed or cancelled runs back to queued; returns those that were."""
    run_ids = [check_id(rid) for rid in run_ids]
    for rid in run_ids:
        get(store, rid)
    return store.runs_retry(RetryParams(tuple(run_ids), now))


def retry_refusal(run: Run) -> str:
    """Why a retry left ``run`` as it was, as every launcher says it."""
    if run.state in RETRYABLE and run.step is not None:
        return (
            f"run {run.id} is step {run.step!r} of workflow {run.workflow}, after a step that "
            "failed or was cancelled: retry that step, or the workflow"
        )
    return f"run {run.id} is {run.state.value}: only failed or cancelled runs are retried"


def retry_where(
    store: Store,
    state: RunState,
    now: datetime,
    *,
    job: str | None = None,
    queue: str | None = None,
    batch: int = BULK_BATCH,
) -> int:
    """Retry every run in ``state`` (of ``job``, in ``queue``), in bounded batches; how many."""
    if state not in RETRYABLE:
        raise InvalidInput(f"only failed or cancelled runs are retried, not {state.value}")
    for what, text in (("job", job), ("queue", queue)):
        problem = None if text is None else text_problem(text)
        if problem:
            raise InvalidInput(f"{what}: {problem}")
    total, before = 0, None
    while True:
        runs = store.runs_list(ListParams((state,), job, queue, batch, before))
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
    """Delete one terminal run; False if it is not terminal, or is a workflow step that a
    step after it, not succeeded yet, may still need (its result, or its failure)."""
    get(store, run_id)
    return store.runs_delete(run_id)
