"""Batch execution use cases: get, list, restart, stop, abandon.

Every launcher reaches them through ``app.batches`` (``rota.usecases.batches_facade``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rota.batch.model import (
    ACTIVE,
    RESTARTABLE,
    BatchExecution,
    BatchState,
)
from rota.errors import BatchConflict, ExecutionNotFound
from rota.jobs import LaunchOptions
from rota.runs import RunState
from rota.storage.base import BatchRunStore, CancelParams, Store
from rota.storage.batch_store import BatchListParams, BatchStore, BatchTransition
from rota.usecases import Launch
from rota.usecases.inputs import check_id, check_page


def get(store: BatchStore, execution_id: int) -> BatchExecution:
    found = store.batch_get(check_id(execution_id, "execution id"))
    if found is None:
        raise ExecutionNotFound(execution_id)
    return found


def list_executions(
    store: BatchStore,
    *,
    job: str | None = None,
    states: Sequence[BatchState] = (),
    limit: int = 50,
    before_id: int | None = None,
) -> list[BatchExecution]:
    limit = check_page(limit)
    before_id = None if before_id is None else check_id(before_id, "cursor")
    return store.batch_list(BatchListParams(job, tuple(states), limit, before_id))


def current_state(e: BatchExecution) -> BatchState:
    """The state as it effectively is: an active execution whose run ended is over."""
    return e.current_state


def check_restart(store: BatchStore, execution: BatchExecution) -> None:
    """Only the latest execution of an instance, failed or stopped, can be restarted."""
    state = current_state(execution)
    if state not in RESTARTABLE:
        what = {
            BatchState.COMPLETED: "completed: a completed instance is not run again",
            BatchState.ABANDONED: "abandoned: it is never restarted",
        }.get(state, f"{state.value}: stop it first, or wait for it to end")
        raise BatchConflict(f"batch execution {execution.id} is {what}")
    latest = store.batch_history(execution.instance_id)[-1]
    if latest.id != execution.id:
        raise BatchConflict(
            f"batch execution {execution.id} was restarted already: "
            f"the latest execution of its instance is {latest.id}"
        )


def restart(store: Store, execution_id: int, launch: Launch) -> BatchExecution:
    """Restart a failed or stopped execution as a new execution of its instance.

    The new run goes through the one launch path with the old run's queue, priority and
    attempts; the runner then skips the completed steps and resumes after the last commit.
    """
    execution = get(store, execution_id)
    check_restart(store, execution)
    run = store.runs_get(execution.run_id) if execution.run_id is not None else None
    options = (
        LaunchOptions(queue=run.queue, priority=run.priority, max_attempts=run.max_attempts)
        if run is not None
        else LaunchOptions()
    )
    handle = launch(execution.job, [execution.args], options)[0]
    created = store.batch_for_run(handle.id)
    assert created is not None
    return created


def stop(store: Store, execution_id: int, now: datetime) -> BatchExecution:
    """Stop at the next chunk boundary; an execution whose run has not started stops at once."""
    execution = get(store, execution_id)
    state = current_state(execution)
    if state in (BatchState.STOPPING, BatchState.STOPPED):
        return execution
    if state not in ACTIVE:
        raise BatchConflict(
            f"batch execution {execution_id} is {state.value}: only a running one can be stopped"
        )
    store.batch_transition(
        BatchTransition(
            execution_id, (BatchState.STARTING, BatchState.STARTED), BatchState.STOPPING, now
        )
    )
    if execution.run_id is not None:
        # A waiting run is cancelled at once; a running one sees ctx.cancelled as well.
        changed = store.runs_cancel(CancelParams([execution.run_id], now))
        if changed.get(execution.run_id) is RunState.CANCELLED:
            store.batch_transition(
                BatchTransition(
                    execution_id,
                    (BatchState.STOPPING,),
                    BatchState.STOPPED,
                    now,
                    finished=True,
                    exit_status="STOPPED",
                )
            )
    return get(store, execution_id)


def abandon(store: BatchRunStore, execution_id: int, now: datetime) -> BatchExecution:
    """Mark a failed or stopped execution never to be restarted (its instance neither)."""
    execution = get(store, execution_id)
    state = current_state(execution)
    if state is BatchState.ABANDONED:
        return execution
    if state not in RESTARTABLE:
        raise BatchConflict(
            f"batch execution {execution_id} is {state.value}: only a failed or stopped "
            "execution can be abandoned (stop it first)"
        )
    latest = store.batch_history(execution.instance_id)[-1]
    if latest.id != execution.id:
        raise BatchConflict(
            f"batch execution {execution_id} is not the latest of its instance "
            f"({latest.id} is): abandon that one"
        )
    store.batch_transition(
        BatchTransition(
            execution_id,
            (execution.state,),
            BatchState.ABANDONED,
            now,
            finished=execution.finished_at is None,
            exit_status="ABANDONED",
        )
    )
    return get(store, execution_id)
