"""How a workflow step's end moves the steps after it, on SQLite (workflows.sql).

``settle`` runs in the transaction that ended or reopened steps: cancel the waiting steps with
a failed or cancelled upstream (and every waiting step after them), then queue those whose
upstreams all succeeded. ``BEGIN IMMEDIATE`` already serializes writers: no locks to take.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from rota.clock import to_epoch
from rota.storage.rows import dumps
from rota.storage.sql import load_queries

WQ = load_queries("rota.storage.sqlite", "workflows.sql")


def settle(conn: sqlite3.Connection, ids: Sequence[int], now: datetime) -> None:
    """Settle the steps after ``ids`` (and ``ids`` themselves when waiting)."""
    if not ids:
        return
    values = {"ids": dumps(list(ids)), "now": to_epoch(now), "at": now.isoformat()}
    conn.execute(WQ["workflow_doom"], values)
    conn.execute(WQ["workflow_release"], values)


def reopen_targets(conn: sqlite3.Connection, ids: Sequence[int]) -> list[sqlite3.Row]:
    """The steps a retry of ``ids`` reopens: they and every ended step after them."""
    return conn.execute(WQ["workflow_reopen_targets"], {"ids": dumps(list(ids))}).fetchall()
