"""Workflows: list (newest first, cursor pages), show, retry, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

import rota.web.actions as actions
from rota.limits import MAX_ID
from rota.web.deps import AppDep, RoleDep, reject_unknown_query
from rota.web.errors import responses
from rota.web.models import WorkflowOut, WorkflowPage
from rota.web.runs import Cursor, PageSize, page

router = APIRouter(prefix="/api", tags=["workflows"], dependencies=[Depends(reject_unknown_query)])

WorkflowId = Annotated[int, Path(ge=1, le=MAX_ID, description="the workflow's id")]


def _workflow_links(workflow_id: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from a response holding a workflow to the operations on it."""
    return {
        name: {"operationId": op, "parameters": {"workflow_id": workflow_id}}
        for name, op in (
            ("GetWorkflow", "get_workflow"),
            ("RetryWorkflow", "retry_workflow"),
            ("CancelWorkflow", "cancel_workflow"),
        )
    }


@router.get(
    "/workflows",
    response_model=WorkflowPage,
    responses={200: {"links": _workflow_links("$response.body#/items/0/id")}, **responses()},
)
def list_workflows(app: AppDep, limit: PageSize = 50, cursor: Cursor = None) -> dict[str, Any]:
    """Workflows with their steps, newest first, one page at a time."""
    return page(lambda n, before: app.workflows.list(n, before), limit, cursor)


@router.get(
    "/workflows/{workflow_id}",
    response_model=WorkflowOut,
    responses={200: {"links": _workflow_links("$response.body#/id")}, **responses()},
)
def get_workflow(workflow_id: WorkflowId, app: AppDep) -> dict[str, Any]:
    """One workflow: its state and its steps (job, run id, state, the steps each comes after)."""
    return app.workflows.show(workflow_id).to_json()


@router.post("/workflows/{workflow_id}/retry", response_model=WorkflowOut, responses=responses(409))
def retry_workflow(workflow_id: WorkflowId, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Put the failed and cancelled steps back (``queued``, or ``waiting`` for their upstreams)
    and answer the workflow; the steps that succeeded are not run again. 409 if no step failed
    or was cancelled."""
    return actions.retry_workflow(app, role, workflow_id).to_json()


@router.post(
    "/workflows/{workflow_id}/cancel", response_model=WorkflowOut, responses=responses(409)
)
def cancel_workflow(workflow_id: WorkflowId, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Cancel every step not ended (waiting and queued ones at once, running ones are asked to
    stop) and answer the workflow. 409 if every step has ended."""
    return actions.cancel_workflow(app, role, workflow_id).to_json()
