"""Batch executions: list (newest first, cursor pages), show, restart, stop, abandon."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import StringConstraints

import rota.web.actions as actions
from rota.batch.model import BatchExecution, BatchState
from rota.limits import MAX_ID
from rota.web.deps import NO_NUL, AppDep, RoleDep, reject_unknown_query
from rota.web.errors import responses
from rota.web.models import BatchExecutionOut, BatchExecutionPage
from rota.web.runs import Cursor, PageSize, page

router = APIRouter(prefix="/api", tags=["batch"], dependencies=[Depends(reject_unknown_query)])

_STATE = "|".join(s.value for s in BatchState)
StateList = Annotated[str, StringConstraints(pattern=rf"^({_STATE})(,({_STATE}))*$")]
ExecutionId = Annotated[int, Path(ge=1, le=MAX_ID, description="the execution's id")]


def _states(values: list[str] | None) -> list[BatchState]:
    return [BatchState(v) for value in values or [] for v in value.split(",")]


def _execution_links(execution_id: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from a response holding an execution to the operations on it."""
    return {
        name: {"operationId": op, "parameters": {"execution_id": execution_id}}
        for name, op in (
            ("GetBatchExecution", "get_batch_execution"),
            ("RestartBatchExecution", "restart_batch_execution"),
            ("StopBatchExecution", "stop_batch_execution"),
            ("AbandonBatchExecution", "abandon_batch_execution"),
        )
    }


@router.get(
    "/batch/executions",
    response_model=BatchExecutionPage,
    response_model_exclude_unset=True,
    responses={200: {"links": _execution_links("$response.body#/items/0/id")}, **responses()},
)
def list_batch_executions(
    app: AppDep,
    job: Annotated[str | None, Query(min_length=1, max_length=1000, pattern=NO_NUL)] = None,
    state: Annotated[
        list[StateList] | None,
        Query(description="filter by state: repeat it, or give a comma-separated list"),
    ] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Batch executions, newest first, one page at a time."""

    def fetch(limit: int, before_id: int | None) -> list[BatchExecution]:
        return app.batches.list(job=job, states=_states(state), limit=limit, before_id=before_id)

    return page(fetch, limit, cursor)


@router.get(
    "/batch/executions/{execution_id}",
    response_model=BatchExecutionOut,
    response_model_exclude_unset=True,
    responses=responses(),
)
def get_batch_execution(execution_id: ExecutionId, app: AppDep) -> dict[str, Any]:
    """One execution with its steps (and the partitions of a partitioned step)."""
    return app.batches.get(execution_id).to_json()


@router.post(
    "/batch/executions/{execution_id}/restart",
    status_code=201,
    response_model=BatchExecutionOut,
    response_model_exclude_unset=True,
    responses={201: {"links": _execution_links("$response.body#/id")}, **responses(409)},
)
def restart_batch_execution(
    execution_id: ExecutionId, app: AppDep, role: RoleDep
) -> dict[str, Any]:
    """Restart a failed or stopped execution as a new execution of its instance (201 with
    it): completed steps are skipped, the failed step resumes after its last commit."""
    return actions.restart_execution(app, role, execution_id).to_json()


@router.post(
    "/batch/executions/{execution_id}/stop",
    response_model=BatchExecutionOut,
    response_model_exclude_unset=True,
    responses=responses(409),
)
def stop_batch_execution(execution_id: ExecutionId, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Stop a running execution at its next chunk boundary (``stopping``, then ``stopped``)."""
    return actions.stop_execution(app, role, execution_id).to_json()


@router.post(
    "/batch/executions/{execution_id}/abandon",
    response_model=BatchExecutionOut,
    response_model_exclude_unset=True,
    responses=responses(409),
)
def abandon_batch_execution(
    execution_id: ExecutionId, app: AppDep, role: RoleDep
) -> dict[str, Any]:
    """Mark a failed or stopped execution (and so its instance) never to be restarted."""
    return actions.abandon_execution(app, role, execution_id).to_json()
