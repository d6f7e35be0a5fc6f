"""The dashboard's batch executions: the list, and one execution with its steps' counts and
progress, with ``Restart``, ``Stop`` and ``Abandon``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

import rota.web.actions as actions
from rota.app import App
from rota.batch.model import ACTIVE, RESTARTABLE, BatchExecution
from rota.errors import ExecutionNotFound
from rota.limits import MAX_ID
from rota.web.auth import Role
from rota.web.dashboard.act import Done, act
from rota.web.dashboard.render import error_page, page

router = APIRouter(include_in_schema=False)
PAGE = 50


def _id(text: str | None) -> int | None:
    if text is None or not (text.isdigit() and 0 < int(text) <= MAX_ID):
        return None
    return int(text)


@router.get("/batch")
def executions_page(request: Request) -> Response:
    app: App = request.app.state.rota
    before = _id(request.query_params.get("before"))
    found = app.batches.list(limit=PAGE + 1, before_id=before)
    return page(
        request,
        "batch_list.html",
        "Batch",
        section="Batch",
        executions=found[:PAGE],
        next_before=found[PAGE - 1].id if len(found) > PAGE else None,
        before=before,
    )


def step_progress(execution: BatchExecution) -> list[dict[str, object]]:
    """One row per step (partitions summed under their step), in the order they ran."""
    rows: dict[str, dict[str, object]] = {}
    for step in execution.steps:
        if step.partition >= 0 and step.name in rows:
            continue  # a partition: its step's own row carries the totals
        rows[step.name] = {
            "step": step,
            "partitions": [s for s in execution.steps if s.name == step.name and s.partition >= 0],
            "percent": 100.0 if step.state.value == "completed" else None,
        }
    return list(rows.values())


@router.get("/batch/{execution_id}")
def execution_page(request: Request, execution_id: str) -> Response:
    app: App = request.app.state.rota
    found = _id(execution_id)
    if found is None:
        return error_page(request, 404, f"there is no execution {execution_id!r}")
    try:
        execution = app.batches.get(found)
    except ExecutionNotFound as exc:
        return error_page(request, 404, str(exc))
    state = execution.current_state
    return page(
        request,
        "batch.html",
        f"Execution {execution.id}",
        section="Batch",
        execution=execution,
        state=state,
        steps=step_progress(execution),
        restartable=state in RESTARTABLE,
        stoppable=state in ACTIVE and state.value != "stopping",
    )


_VERBS = {"restart": "restarted", "stop": "stopping", "abandon": "abandoned"}


@router.post("/batch/{execution_id}/{verb}")
async def execution_action(request: Request, execution_id: str, verb: str) -> Response:
    found = _id(execution_id)
    if verb not in _VERBS or found is None:
        return error_page(request, 404, "there is no such action")

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        if verb == "restart":
            new = actions.restart_execution(app, role, found)
            return f"/batch/{new.id}", {"done": "restarted"}
        if verb == "stop":
            actions.stop_execution(app, role, found)
        else:
            actions.abandon_execution(app, role, found)
        return f"/batch/{found}", {"done": _VERBS[verb]}

    return await act(request, do)
