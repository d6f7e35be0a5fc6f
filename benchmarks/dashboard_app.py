"""The app the dashboard benchmark serves: the seeded runs' jobs, a few schedules and a batch job.

``benchmarks/dashboard_pages.py`` opens it to seed the database and serves it with
``rota --app benchmarks/dashboard_app.py serve``; its jobs never run there (no worker).
"""

from __future__ import annotations

from typing import Any

import rota
from rota import batch

app = rota.App(name="pagebench")


def _define(name: str, queue: str) -> None:
    def work(user_id: int, email: str, note: str = "") -> None:
        """One of the seeded runs' jobs (see seed_runs)."""

    work.__name__ = name
    app.job(name=name, queue=queue)(work)


for _i, _queue in enumerate(
    ("default", "emails", "reports", "video", "billing", "default", "emails")
):
    _define(f"job_{_i}", _queue)


@app.periodic(cron="*/5 * * * *")
def reconcile() -> None:
    """Every five minutes."""


@app.periodic(every=60)
def heartbeat_check() -> None:
    """Every minute."""


@app.periodic(cron="0 3 * * *", timezone="Europe/Paris")
def nightly_report() -> None:
    """At three every night, Paris time."""


def _items(ctx: batch.StepContext) -> list[dict[str, Any]]:
    return [{"n": n} for n in range(int(ctx.args["rows"]))]


@app.batch
def import_orders(day: str, rows: int = 250) -> batch.Flow:
    """A small import: a check, a chunked load of ``rows`` items, a report."""
    return batch.Flow(
        [
            batch.tasklet("check", lambda ctx: None),
            batch.chunk("load", reader=_items, writer=lambda items: None, size=50),
            batch.tasklet("report", lambda ctx: None),
        ]
    )
