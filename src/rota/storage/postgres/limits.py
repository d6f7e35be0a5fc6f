"""The claim of limited jobs' runs on PostgreSQL (see rota.admission and limits.sql).

One transaction, pipelined into two round trips: (finish the cycle's outcomes, take the jobs'
advisory locks, read the candidates), then (claim the admitted runs and log their starts,
claim the rest of ``limit`` from unlimited jobs as the fast path does, commit). The locks are
transaction-level: nothing outlives the transaction, so PgBouncer's transaction pooling is safe.
"""

from __future__ import annotations

from typing import Any

from rota.storage.admitting import limited_arrays, lock_key, plan, scan_size
from rota.storage.base import ClaimParams
from rota.storage.postgres.connection import PostgresBase, Q, ts
from rota.storage.sql import load_queries

LQ = load_queries("rota.storage.postgres", "limits.sql")


def _when(value: Any) -> Any:
    return ts(value)


class PostgresLimits(PostgresBase):
    def claim_limited(
        self, params: ClaimParams, finish: dict[str, Any] | None, fast: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], set[int]]:
        """Claimed rows (limited, then unlimited) and the ids of the outcomes written.

        ``finish``: the arrays of runs_finish (None: nothing to write); ``fast``: the values of
        runs_finish_and_claim, used with no outcomes for the unlimited jobs in ``params.jobs``.
        """
        slots = min(params.limited_slots, params.limit)
        values = {
            **limited_arrays(params.limited),
            "now": params.now,
            "queues": fast["queues"],
            "scan": scan_size(slots),
            "keys": sorted({lock_key(j.job) for j in params.limited}),
        }
        with self._conn() as conn, conn.pipeline(), conn.transaction():
            done = conn.execute(Q["runs_finish"], finish) if finish else None
            conn.execute(LQ["limits_lock"], values)
            rows = conn.execute(LQ["limits_candidates"], values).fetchall()
            chosen = plan(rows, params.limited, slots, params.now, _when)
            claim = conn.execute(
                LQ["limits_claim"],
                {
                    "now": params.now,
                    "lease_until": params.lease_until,
                    "node_id": params.node_id,
                    "ids": chosen.ids,
                    "r_ids": chosen.rate_ids,
                    "r_scopes": chosen.rate_scopes,
                    "r_expires": chosen.rate_expires,
                },
            )
            rest = params.limit - len(chosen.ids)
            more = None
            if rest > 0 and fast["jobs"] != []:  # None: any job
                more = conn.execute(Q["runs_finish_and_claim"], {**fast, "limit": rest})
            claimed = claim.fetchall()
            if more is not None:
                claimed += [r for r in more.fetchall() if r["id"] is not None]
            written = {int(r["id"]) for r in done.fetchall()} if done is not None else set()
        return claimed, written
