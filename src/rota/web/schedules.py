"""Schedules: list, pause, resume, and trigger one run now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

import rota.web.actions as actions
from rota.scheduling.definitions import schedule_json
from rota.web.deps import AppDep, RoleDep, reject_unknown_query
from rota.web.errors import responses, run_links
from rota.web.models import RunOut, ScheduleOut, SchedulePage

router = APIRouter(prefix="/api", tags=["schedules"], dependencies=[Depends(reject_unknown_query)])

Name = Annotated[str, Path(min_length=1, max_length=200, description="the schedule's name")]


def _schedule_links(name: str) -> dict[str, dict[str, Any]]:
    return {
        verb.title() + "Schedule": {
            "operationId": f"{verb}_schedule",
            "parameters": {"name": name},
        }
        for verb in ("pause", "resume", "trigger")
    }


@router.get(
    "/schedules",
    response_model=SchedulePage,
    responses={200: {"links": _schedule_links("$response.body#/items/0/name")}, **responses()},
)
def list_schedules(app: AppDep) -> dict[str, Any]:
    """The stored schedules with their next fire time."""
    return {"items": [schedule_json(s) for s in app.schedules.list()], "next_cursor": None}


@router.post("/schedules/{name:path}/pause", response_model=ScheduleOut, responses=responses())
def pause_schedule(name: Name, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Stop firing; a paused schedule creates no run."""
    return schedule_json(actions.pause_schedule(app, role, name))


@router.post("/schedules/{name:path}/resume", response_model=ScheduleOut, responses=responses())
def resume_schedule(name: Name, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """Fire again from now on; times passed while paused do not run."""
    return schedule_json(actions.resume_schedule(app, role, name))


@router.post(
    "/schedules/{name:path}/trigger",
    status_code=201,
    response_model=RunOut,
    responses={201: {"links": run_links()}, **responses()},
)
def trigger_schedule(name: Name, app: AppDep, role: RoleDep) -> dict[str, Any]:
    """One run of the schedule's job now, with its arguments and options."""
    return actions.trigger_schedule(app, role, name).to_json()
