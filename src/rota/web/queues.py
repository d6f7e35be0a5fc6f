"""Queues: list (pages by name), pause, resume, and set limits (PATCH)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

import rota.web.actions as actions
from rota.limits import MAX_NAME
from rota.usecases.queues import UNCHANGED, Rate, Unchanged
from rota.web.deps import NO_NUL, AppDep, RoleDep, reject_unknown_query
from rota.web.errors import responses
from rota.web.models import QueueOut, QueuePage, QueuePatch
from rota.web.runs import PageSize

router = APIRouter(prefix="/api", tags=["queues"], dependencies=[Depends(reject_unknown_query)])

Name = Annotated[str, Path(min_length=1, max_length=MAX_NAME, description="the queue's name")]
NameCursor = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_NAME, pattern=NO_NUL, description="next_cursor of a page"),
]


def _queue_links(name: str) -> dict[str, dict[str, Any]]:
    links = {
        verb.title() + "Queue": {"operationId": f"{verb}_queue", "parameters": {"name": name}}
        for verb in ("pause", "resume")
    }
    links["SetQueueLimits"] = {"operationId": "set_queue_limits", "parameters": {"name": name}}
    return links


@router.get(
    "/queues",
    response_model=QueuePage,
    responses={200: {"links": _queue_links("$response.body#/items/0/name")}, **responses()},
)
def list_queues(app: AppDep, limit: PageSize = 100, cursor: NameCursor = None) -> dict[str, Any]:
    """Queues with runs or stored settings, by name: paused, limits, queued and running runs
    (each counted up to count_cap)."""
    found = app.queues.list(limit, after=cursor)
    more = len(found) == limit and bool(app.queues.list(1, after=found[-1].name))
    return {"items": [q.to_json() for q in found], "next_cursor": found[-1].name if more else None}


@router.post("/queues/{name}/pause", response_model=QueueOut, responses=responses())
def pause_queue(name: Name, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """No node starts a new run from the queue (within a second); running runs finish."""
    return actions.pause_queue(app, role, name).to_json()


@router.post("/queues/{name}/resume", response_model=QueueOut, responses=responses())
def resume_queue(name: Name, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """The queue's runs start again."""
    return actions.resume_queue(app, role, name).to_json()


@router.patch("/queues/{name}", response_model=QueueOut, responses=responses())
def set_queue_limits(name: Name, body: QueuePatch, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Set the queue's cluster-wide limits: a field left out is unchanged, null removes it."""
    given = body.model_fields_set
    concurrency: int | Unchanged | None = body.concurrency if "concurrency" in given else UNCHANGED
    rate: Rate | Unchanged | None = UNCHANGED
    if "rate_limit" in given:
        r = body.rate_limit
        rate = None if r is None else (r.limit, r.period)
    return actions.set_queue_limits(app, role, name, concurrency, rate).to_json()
