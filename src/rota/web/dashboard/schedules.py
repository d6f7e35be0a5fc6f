"""The dashboard's schedules: each trigger with its next five fire times and last fires, and
``Pause``, ``Resume`` and ``Trigger now``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

import rota.web.actions as actions
from rota.app import App
from rota.limits import MAX_NAME
from rota.scheduling.triggers import Trigger
from rota.web.auth import Role
from rota.web.dashboard.act import Done, act
from rota.web.dashboard.render import error_page, page

router = APIRouter(include_in_schema=False)
UPCOMING = 5
LAST_FIRES = 5


@router.get("/schedules")
def schedules_page(request: Request) -> Response:
    app: App = request.app.state.rota
    rows: list[dict[str, Any]] = []
    for schedule in app.schedules.list():
        rows.append(
            {
                "schedule": schedule,
                "trigger": Trigger.from_json(schedule.trigger).describe(),
                "upcoming": []
                if schedule.paused
                else app.schedules.upcoming(schedule.name, UPCOMING),
                "fires": app.schedules.fires(schedule.name, LAST_FIRES),
            }
        )
    return page(request, "schedules.html", "Schedules", section="Schedules", rows=rows)


_VERBS = {"pause": "paused", "resume": "resumed", "trigger": "triggered"}


@router.post("/schedules/{name:path}/{verb}")  # a name may hold a slash: "reports/daily"
async def schedule_action(request: Request, name: str, verb: str) -> Response:
    if verb not in _VERBS or not 0 < len(name) <= MAX_NAME:
        return error_page(request, 404, "there is no such action")

    def do(app: App, role: Role, _: dict[str, str]) -> Done:
        if verb == "pause":
            actions.pause_schedule(app, role, name)
        elif verb == "resume":
            actions.resume_schedule(app, role, name)
        else:
            actions.trigger_schedule(app, role, name)
        return "/schedules", {"done": _VERBS[verb]}

    return await act(request, do)
