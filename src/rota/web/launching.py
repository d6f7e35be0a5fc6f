"""Jobs: what the app defines, and launching a run of one (the one launch path of the App)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path

from rota.jobs import LaunchOptions
from rota.web.deps import AppDep, reject_unknown_query
from rota.web.errors import responses, run_links
from rota.web.models import JobPage, LaunchBody, RunOut

router = APIRouter(prefix="/api", tags=["jobs"], dependencies=[Depends(reject_unknown_query)])


@router.get(
    "/jobs", response_model=JobPage, response_model_exclude_unset=True, responses=responses()
)
def list_jobs(app: AppDep) -> dict[str, Any]:
    """The jobs defined in the app, with their parameters and default options."""
    specs = sorted(app.jobs.values(), key=lambda s: s.name)
    return {"items": [s.describe() for s in specs], "next_cursor": None}


@router.post(
    "/jobs/{name}/runs",
    status_code=201,
    response_model=RunOut,
    responses={201: {"links": run_links()}, **responses(409)},
)
def launch_run(
    name: Annotated[str, Path(max_length=1000, description="the job's name")],
    app: AppDep,
    body: LaunchBody | None = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="the same key returns the same run for 24 h; "
            "reused for a different launch it is a 409",
        ),
    ] = None,
) -> dict[str, Any]:
    """Launch a run of the job; its arguments are checked against the job's signature."""
    body = body or LaunchBody()
    options = LaunchOptions(
        delay=body.delay,
        run_at=body.run_at,
        priority=body.priority,
        queue=body.queue,
        unique_key=body.unique_key,
        max_attempts=body.max_attempts,
        idempotency_key=idempotency_key,
    )
    [handle] = app.launch(name, [body.args], options)
    return app.runs.get(handle.id).to_json()
