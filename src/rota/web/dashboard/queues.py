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


_VERBS = {"pause": actions.pause_queue, "resume": actions.resume_queue}


@router.post("/queues/{name:path}/{verb}")  # a name may hold a slash, as a schedule's may
async def queue_action(request: Request, name: str, verb: str) -> Response:
    if verb not in _VERBS or not 0 < len(name) <= MAX_NAME:
        return error_page(request, 404, "there is no such queue")

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        _VERBS[verb](app, role, name)
        return "/queues", {"done": f"queue_{verb}d"}

    return await act(request, do)
