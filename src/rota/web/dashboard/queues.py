"""The dashboard's queues: each with its state, limits, queued and running runs and oldest
waiting run, and ``Pause`` or ``Resume``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

import rota.web.actions as actions
from rota.app import App
from rota.limits import MAX_NAME
from rota.queues import Queue
from rota.web.auth import Role
from rota.web.dashboard.act import Done, act
from rota.web.dashboard.render import error_page, page

router = APIRouter(include_in_schema=False)


def queue_list(app: App) -> list[Queue]:
    """The queues in use, and those the app's jobs name that are not used yet (so that one
    can be paused before its first run)."""
    listed = {q.name: q for q in app.queues.list()}
    for spec in app.jobs.values():
        name = spec.options.queue
        if name not in listed:
            listed[name] = app.queues.get(name)
    return [listed[name] for name in sorted(listed)]


@router.get("/queues")
def queues_page(request: Request) -> Response:
    app: App = request.app.state.rota
    return page(request, "queues.html", "Queues", section="Queues", queues=queue_list(app))


def _queue_action(request: Request, name: str, verb: str) -> Done | Response:
    if not 0 < len(name) <= MAX_NAME:
        return error_page(request, 404, "there is no such queue")
    return "/queues", {"done": f"queue_{verb}d"}


@router.post("/queues/{name:path}/pause")
async def pause_queue(request: Request, name: str) -> Response:
    checked = _queue_action(request, name, "pause")
    if isinstance(checked, Response):
        return checked

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        actions.pause_queue(app, role, name)
        return checked

    return await act(request, do)


@router.post("/queues/{name:path}/resume")
async def resume_queue(request: Request, name: str) -> Response:
    checked = _queue_action(request, name, "resume")
    if isinstance(checked, Response):
        return checked

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        actions.resume_queue(app, role, name)
        return checked

    return await act(request, do)
