"""How a workflow step's end moves the steps after it, on PostgreSQL (workflows.sql).

``send_settle`` adds three statements to a transaction that ended or reopened steps: lock the
waiting steps it may move, in id order; cancel those with a failed or cancelled upstream (and
every waiting step after them); queue those whose upstreams all succeeded. Sent without
reading their results, they ride in the same pipeline (the same round trip) as the finish. The
transaction must be READ COMMITTED: each statement after the lock then sees what a concurrent
settle of another upstream committed before it let go of the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from rota.storage.sql import load_queries

WQ = load_queries("rota.storage.postgres", "workflows.sql")

READ_COMMITTED = "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"


def send_settle(conn: psycopg.Connection[Any], ids: Sequence[int], now: datetime) -> None:
    """Settle the steps after ``ids`` (and ``ids`` themselves when waiting) in ``conn``'s
    transaction."""
    if not ids:
        return
    values = {"ids": list(ids), "now": now, "at": now.isoformat()}
    conn.execute(WQ["workflow_lock"], values)
    conn.execute(WQ["workflow_doom"], values)
    conn.execute(WQ["workflow_release"], values)


def reopen_targets(conn: psycopg.Connection[Any], ids: Sequence[int]) -> list[dict[str, Any]]:
    """The steps a retry of ``ids`` reopens (they and every ended step after them), locked."""
    return conn.execute(WQ["workflow_reopen_targets"], {"ids": list(ids)}).fetchall()
