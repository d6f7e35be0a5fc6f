"""The claim of a worker that serves limited jobs, on SQLite (rota.admission, limits.sql).

It runs inside the claim's ``BEGIN IMMEDIATE`` transaction, which already serializes every
writer of the file: the counts it reads cannot change before it commits.
"""

from __future__ import annotations

import sqlite3

from rota.clock import to_epoch
from rota.storage.admitting import candidate_values, plan
from rota.storage.base import ClaimParams
from rota.storage.rows import dumps
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase, ep

LQ = load_queries("rota.storage.sqlite", "limits.sql")


class SQLiteLimits(SQLiteBase):
    def claim_limited(self, conn: sqlite3.Connection, params: ClaimParams) -> list[sqlite3.Row]:
        """Claim the admitted runs, logging the starts of rate-limited ones."""
        now = to_epoch(params.now)
        lists = candidate_values(params)
        limited = [[j.job, j.concurrency, j.rate_limit] for j in params.limited]
        values = {
            "limited": dumps(limited),
            "jobs": None if lists["jobs"] is None else dumps(lists["jobs"]),
            "now": now,
            "queues": None if params.queues is None else dumps(list(params.queues)),
            "scan": lists["scan"],
            "c_keyed": dumps(lists["c_keyed"]),
            "r_keyed": dumps(lists["r_keyed"]),
            "queue_limits": params.queue_limits,
            "ahead": params.ahead,
            "placed_queues": dumps(list(params.placed_queues)),
        }
        rows = conn.execute(LQ["limits_candidates"], values).fetchall()
        chosen = plan(rows, params)
        if not chosen.ids:
            return []
        claimed = conn.execute(
            LQ["limits_claim"],
            {
                "ids": dumps(chosen.ids),
                "unplaced": dumps(chosen.unplaced),
                "now": now,
                "lease_until": to_epoch(params.lease_until),
                "node_id": params.node_id,
            },
        ).fetchall()
        started = {int(r["id"]) for r in claimed}
        for run_id, scope, expires in zip(
            chosen.rate_ids, chosen.rate_scopes, chosen.rate_expires, strict=True
        ):
            if run_id in started:
                conn.execute(LQ["limits_log_start"], {"scope": scope, "expires_at": ep(expires)})
        if chosen.rate_scopes:
            prune = {"scopes": dumps(chosen.rate_scopes), "prune_before": ep(chosen.prune_before)}
            conn.execute(LQ["limits_prune"], prune)
        return claimed
