"""The dashboard's nodes page."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import Response

from rota.app import App
from rota.web.dashboard.render import page

router = APIRouter(include_in_schema=False)
NODE_WINDOW = timedelta(hours=1)


@router.get("/nodes")
def nodes_page(request: Request) -> Response:
    app: App = request.app.state.rota
    now = app.clock.now()
    nodes = app.nodes.list(NODE_WINDOW)
    per_node = app.runs.running_per_node()  # counted in the database: no run is loaded
    rows = [
        {
            "node": n,
            "state": n.to_json(now, app.lease_seconds)["state"],
            "running": per_node.get(n.id, 0),
        }
        for n in nodes
    ]
    return page(request, "nodes.html", "Nodes", section="Nodes", rows=rows)
