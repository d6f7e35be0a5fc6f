"""The dashboard's workflows: the list, and one workflow drawn as a graph with its steps
table, with ``Retry`` and ``Cancel``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from rota.app import App
from rota.errors import WorkflowNotFound
from rota.limits import MAX_ID
from rota.runs import RETRYABLE, RunState
from rota.web.actions import cancel_workflow, retry_workflow
from rota.web.auth import Role
from rota.web.dashboard import graph
from rota.web.dashboard.act import Done, act
from rota.web.dashboard.render import error_page, page
from rota.workflows import WorkflowRecord

router = APIRouter(include_in_schema=False)
PAGE = 50
MAX_ROWS = 1_000
"""Steps the table shows (the page is sent again at every live refresh)."""


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


@router.get("/workflows")
def workflows_page(request: Request) -> Response:
    app: App = request.app.state.rota
    before_text = request.query_params.get("before")
    before = None if before_text is None else _id(before_text)
    if before_text is not None and before is None:
        return error_page(request, 400, "the page cursor is not a workflow id")
    found = app.workflows.list(limit=PAGE + 1, before_id=before)
    return page(
        request,
        "workflows.html",
        "Workflows",
        section="Workflows",
        workflows=found[:PAGE],
        next_before=found[PAGE - 1].id if len(found) > PAGE else None,
        before=before,
    )


def drawing(request: Request, workflow: WorkflowRecord) -> str | None:
    """The workflow's graph as SVG, or None when it has too many steps to draw."""
    root = request.scope.get("root_path", "").rstrip("/")
    nodes = [
        graph.Node(
            s.name,
            s.state.value,
            s.after,
            f"{root}/runs/{s.run_id}",
            f"{s.name}: {s.state.value} (job {s.job}, run #{s.run_id})",
        )
        for s in workflow.steps
    ]
    if not graph.drawable(nodes):
        return None
    return graph.svg(nodes, f"Steps of workflow {workflow.id} and the steps each comes after")


@router.get("/workflows/{workflow_id}")
def workflow_page(request: Request, workflow_id: str) -> Response:
    app: App = request.app.state.rota
    found = _id(workflow_id)
    if found is None:
        return error_page(request, 404, f"there is no workflow {workflow_id!r}")
    try:
        workflow = app.workflows.show(found)
    except WorkflowNotFound as exc:
        return error_page(request, 404, str(exc))
    steps = workflow.steps
    return page(
        request,
        "workflow.html",
        f"Workflow {workflow.id}",
        section="Workflows",
        workflow=workflow,
        state=workflow.state.value,
        graph=drawing(request, workflow),
        steps=steps[:MAX_ROWS],
        hidden=max(0, len(steps) - MAX_ROWS),
        succeeded=sum(s.state is RunState.SUCCEEDED for s in steps),
        retryable=any(s.state in RETRYABLE for s in steps),
        cancellable=not workflow.state.terminal,
    )


@router.post("/workflows/{workflow_id}/{verb}")
async def workflow_action(request: Request, workflow_id: str, verb: str) -> Response:
    found = _id(workflow_id)
    if verb not in ("retry", "cancel") or found is None:
        return error_page(request, 404, "there is no such action")

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        if verb == "retry":
            retry_workflow(app, role, found)
        else:
            cancel_workflow(app, role, found)
        return f"/workflows/{found}", {"done": f"workflow_{verb}"}

    return await act(request, do)
