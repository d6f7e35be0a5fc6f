"""Health, cluster nodes, and the placeholder page where the dashboard will be."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from rota.web.deps import AppDep, reject_unknown_query
from rota.web.errors import responses
from rota.web.models import Health, NodePage

router = APIRouter(dependencies=[Depends(reject_unknown_query)])

NODE_WINDOW = timedelta(hours=1)


@router.get("/api/health", response_model=Health, tags=["system"], responses=responses())
def health() -> dict[str, str]:
    """Whether this server answers; never needs a token."""
    return {"status": "ok"}


@router.get("/api/nodes", response_model=NodePage, tags=["system"], responses=responses())
def list_nodes(app: AppDep) -> dict[str, Any]:
    """Live nodes, and those stopped or dead within the last hour."""
    now = app.clock.now()
    nodes = app.nodes.list(NODE_WINDOW)
    return {"items": [n.to_json(now, app.lease_seconds) for n in nodes], "next_cursor": None}


PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rota</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem">
<h1>rota</h1>
<p>The dashboard is coming here. Meanwhile: the <a href="api/docs">REST API</a>
and its <a href="api/openapi.json">OpenAPI document</a>.</p>
</body></html>
"""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard() -> str:
    return PLACEHOLDER
