"""Health and cluster nodes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends

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
