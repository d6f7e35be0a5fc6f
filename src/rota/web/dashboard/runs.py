"""The dashboard's runs: the filtered list with cursor pages and ``Retry all``, one run's page
with its arguments, result, progress, timeline and tracebacks, and its actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

import rota.web.actions as actions
from rota.app import App
from rota.errors import RunNotFound
from rota.limits import MAX_ID, MAX_KEY, MAX_NAME, SEARCH_SCOPE
from rota.runs import RETRYABLE, Run, RunState
from rota.web.auth import Role
from rota.web.dashboard.act import Done, act
from rota.web.dashboard.render import error_page, page
from rota.web.errors import ApiError

router = APIRouter(include_in_schema=False)
PAGE = 50
MAX_SEARCH = 200


def _text(request: Request, name: str, limit: int = MAX_NAME) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:limit] if value else None


def _filters(request: Request) -> dict[str, Any] | str:
    """The list's filters from the query, or why they are not valid."""
    state_text = _text(request, "state")
    states = [s.value for s in RunState]
    if state_text is not None and state_text not in states:
        return f"unknown state {state_text!r}: one of {', '.join(states)}"
    before_text = _text(request, "before")
    if before_text is not None and not (before_text.isdigit() and len(before_text) < 19):
        return "the page cursor is not a run id"
    return {
        "state": state_text,
        "job": _text(request, "job", MAX_KEY),
        "queue": _text(request, "queue"),
        "search": _text(request, "search", MAX_SEARCH),
        "before": min(int(before_text), MAX_ID) if before_text else None,
    }


def _choices(app: App, current: str | None, names: set[str]) -> list[str]:
    return sorted(names | ({current} if current else set()))


@router.get("/runs")
def runs_page(request: Request) -> Response:
    app: App = request.app.state.rota
    filters = _filters(request)
    if isinstance(filters, str):
        return error_page(request, 400, filters)
    state = RunState(filters["state"]) if filters["state"] else None
    found = app.runs.list(
        states=[state] if state else [],
        job=filters["job"],
        queue=filters["queue"],
        search=filters["search"],
        limit=PAGE + 1,
        before_id=filters["before"],
    )
    specs = app.jobs.values()
    # a search reads SEARCH_SCOPE ids at most: a short page goes on below what it read
    searched_to = None
    if filters["search"] and len(found) <= PAGE:
        searched_to = app.runs.search_floor(filters["before"])
    return page(
        request,
        "runs.html",
        "Runs",
        section="Runs",
        runs=found[:PAGE],
        next_before=found[PAGE - 1].id if len(found) > PAGE else searched_to,
        searched_to=searched_to,
        search_scope=f"{SEARCH_SCOPE:,}",
        filters=filters,
        states=[s.value for s in RunState],
        jobs=_choices(app, filters["job"], {s.name for s in specs}),
        queues=_choices(app, filters["queue"], {s.options.queue for s in specs} | {"default"}),
        can_retry_all=state in RETRYABLE and not filters["search"],
    )


def timeline(run: Run) -> list[tuple[datetime, str]]:
    """What happened to a run, oldest first: created, due, each failed attempt, start, end."""
    events = [(run.created_at, "created")]
    if run.run_at > run.created_at:
        events.append((run.run_at, "due"))
    for error in run.errors:
        at = error.get("at")
        if isinstance(at, str):
            label = f"attempt {error.get('attempt')} failed: {error.get('type')}"
            events.append((datetime.fromisoformat(at), label))
    if run.started_at is not None and run.state is RunState.SCHEDULED:  # its attempt given back
        events.append((run.started_at, f"attempt {run.attempt + 1} started, then snoozed"))
    elif run.started_at is not None:
        events.append((run.started_at, f"attempt {run.attempt} started"))
    if run.finished_at is not None:
        events.append((run.finished_at, f"ended {run.state.value}"))
    return sorted(events, key=lambda e: e[0])


def progress_of(run: Run) -> dict[str, Any] | None:
    """The progress bar's numbers: done, total, percent (None when unknown), message."""
    if not run.progress:
        return None
    done, total = run.progress.get("done"), run.progress.get("total")
    numeric = isinstance(done, int | float) and isinstance(total, int | float) and total > 0
    percent = max(0.0, min(100.0, 100.0 * done / total)) if numeric else None  # type: ignore[operator]
    return {
        "done": done,
        "total": total,
        "percent": percent,
        "message": run.progress.get("message"),
    }


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> Response:
    app: App = request.app.state.rota
    if not (run_id.isdigit() and 0 < int(run_id) <= MAX_ID):
        return error_page(request, 404, f"there is no run {run_id!r}")
    try:
        run = app.runs.get(int(run_id))
    except RunNotFound as exc:
        return error_page(request, 404, str(exc))
    execution = app.batches.for_run(run.id) if run.kind == "batch" else None
    return page(
        request,
        "run.html",
        f"Run {run.id}",
        section="Runs",
        run=run,
        execution=execution,
        timeline=timeline(run),
        progress=progress_of(run),
        terminal=run.state.terminal,
        retryable=run.state in RETRYABLE,
    )


def _run_action(verb: str, run_id: int) -> Any:
    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        if verb == "retry":
            actions.retry_run(app, role, run_id)
            return f"/runs/{run_id}", {"done": "retried"}
        if verb == "cancel":
            actions.cancel_run(app, role, run_id)
            return f"/runs/{run_id}", {"done": "cancelled"}
        actions.delete_run(app, role, run_id)
        return "/runs", {"done": "deleted"}

    return do


@router.post("/runs/retry")
async def retry_all(request: Request) -> Response:
    def do(app: App, role: Role, fields: dict[str, str]) -> Done:
        state = fields.get("state", "")
        if state not in (s.value for s in RETRYABLE):
            raise ApiError(422, "validation_error", "only failed or cancelled runs are retried")
        job, queue = fields.get("job") or None, fields.get("queue") or None
        retried = actions.retry_where(app, role, RunState(state), job, queue)
        back = (
            {"state": state} | ({"job": job} if job else {}) | ({"queue": queue} if queue else {})
        )
        return "/runs", back | {"done": "retried_all", "n": str(retried)}

    return await act(request, do)


@router.post("/runs/{run_id}/{verb}")
async def run_action(request: Request, run_id: str, verb: str) -> Response:
    if verb not in ("retry", "cancel", "delete") or not (
        run_id.isdigit() and 0 < int(run_id) <= MAX_ID
    ):
        return error_page(request, 404, "there is no such action")
    return await act(request, _run_action(verb, int(run_id)))
