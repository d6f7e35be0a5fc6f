"""The dashboard's overview: runs by state and by queue, what finished and failed per minute
over the last hour, the age of each queue's oldest queued run, and the live nodes.

Everything comes from the database (indexed aggregates), so any node serving the dashboard
shows the whole cluster's work, not its own process's counters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from rota.app import App
from rota.runs import RunState
from rota.web.dashboard.charts import stacked
from rota.web.dashboard.render import page

router = APIRouter(include_in_schema=False)
WINDOW = timedelta(hours=1)
QUEUE_STATES = ("waiting", "scheduled", "queued", "running", "retrying", "failed")


def queue_rows(
    app: App, counts: dict[tuple[RunState, str], int], oldest: dict[str, Any]
) -> list[dict[str, Any]]:
    """One row per queue that has runs or is named by a job: counts by state, oldest queued."""
    names = sorted({queue for _, queue in counts} | {s.options.queue for s in app.jobs.values()})
    paused = app.queues.paused(names)
    rows = []
    for name in names:
        by_state = {s.value: counts.get((s, name), 0) for s in RunState}
        row = {"name": name, "counts": by_state, "oldest": oldest.get(name)}
        rows.append(row | {"paused": name in paused})
    return rows


@router.get("/")
def overview_page(request: Request) -> Response:
    app: App = request.app.state.rota
    summary = app.runs.summary(WINDOW)
    by_state = {s.value: 0 for s in RunState}
    capped: set[str] = set()  # states with a queue counted only up to the cap: "at least"
    for (state, _), n in summary.counts.items():
        by_state[state.value] += n
        if n >= summary.count_cap:
            capped.add(state.value)
    chart = stacked(
        [(b.minute.strftime("%H:%M"), b.succeeded, b.failed) for b in summary.per_minute]
    )
    nodes = [n for n in app.nodes.list(WINDOW) if n.alive(summary.now, app.lease_seconds)]
    return page(
        request,
        "overview.html",
        "Overview",
        by_state=by_state,
        capped=capped,
        count_cap=summary.count_cap,
        queues=queue_rows(app, summary.counts, summary.oldest_queued),
        queue_states=QUEUE_STATES,
        chart=chart,
        nodes=nodes,
    )
