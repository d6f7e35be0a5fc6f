"""The dashboard: server-rendered pages over the same actions as the CLI and the REST API.

``install(api)`` adds its pages, its actions and its static files (``/static``) to the
FastAPI app that serves the REST API, so both move together under a mount prefix.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

import rota.web.dashboard.batch as batch
import rota.web.dashboard.overview as overview
import rota.web.dashboard.queues as queues
import rota.web.dashboard.runs as runs
import rota.web.dashboard.schedules as schedules
import rota.web.dashboard.system as system
import rota.web.dashboard.workflows as workflows

STATIC = Path(__file__).parent / "static"


def install(api: FastAPI) -> None:
    for module in (overview, runs, schedules, queues, batch, workflows, system):
        api.include_router(module.router)
    api.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
