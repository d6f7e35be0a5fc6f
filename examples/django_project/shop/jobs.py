"""The project's rota App and its jobs (``settings.ROTA["APP"]`` names it)."""

from __future__ import annotations

import os

import rota
from shop.database import database_url

app = rota.App(database=database_url(), poll_interval=0.2)


@app.job
def send_receipt(order_id: int) -> str:
    return f"receipt for order {order_id} sent"


@app.periodic(every=float(os.environ.get("TICK_SECONDS", "60")))
def tick() -> None:
    """A heartbeat job: every server process runs a scheduler, and each fire runs once."""
