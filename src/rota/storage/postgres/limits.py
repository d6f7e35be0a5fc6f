"""The claim of a worker that serves limited jobs, on PostgreSQL (rota.admission, limits.sql).

One transaction, pipelined into two round trips: (write the cycle's outcomes, take the limited
jobs' advisory locks in a fixed order, read the candidates), then (claim the admitted runs and
log their starts, commit). The outcomes are written first because a finished run frees its
place. The locks are transaction-level: nothing outlives the transaction, so PgBouncer's
transaction pooling is safe. When no job of the worker has limits of its own (only queues do),
admission is simple enough for the claim statement itself (limits_queue_claim): the whole
transaction then takes one round trip.
"""

from __future__ import annotations

from typing import Any

import psycopg

from rota.storage.admitting import candidate_values, lock_keys, plan
from rota.storage.base import ClaimParams
from rota.storage.postgres.connection import PostgresBase, Q
from rota.storage.postgres.workflows import send_settle
from rota.storage.sql import load_queries

LQ = load_queries("rota.storage.postgres", "limits.sql")


class PostgresLimits(PostgresBase):
    def claim_limited(
        self, params: ClaimParams, finish: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], set[int], bool]:
        """The rows claimed, the ids of the outcomes written (``finish``: the arrays of
        runs_finish, None when there is none), and whether some queue has a limit."""
        values = {
            **candidate_values(params),
            "now": params.now,
            "queues": None if params.queues is None else list(params.queues),
            "keys": sorted(lock_keys(params)),
            "queue_limits": params.queue_limits,
            "ahead": params.ahead,
            "placed_queues": list(params.placed_queues),
        }
        if not params.limited:
            return self._claim_queue_limited(params, finish, values)
        with self._conn() as conn, conn.pipeline():
            with conn.transaction():
                # The lock serializes claims only if each statement after it sees what the
                # claims before committed: READ COMMITTED, whatever the database's default.
                conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                done = _write_outcomes(conn, params, finish)
                locked = conn.execute(LQ["limits_lock"], values)
                rows = conn.execute(LQ["limits_candidates"], values).fetchall()
                chosen = plan(rows, params)
                claim = conn.execute(
                    LQ["limits_claim"],
                    {
                        "now": params.now,
                        "lease_until": params.lease_until,
                        "node_id": params.node_id,
                        "ids": chosen.ids,
                        "unplaced": chosen.unplaced,
                        "r_ids": chosen.rate_ids,
                        "r_scopes": chosen.rate_scopes,
                        "r_expires": chosen.rate_expires,
                        "prune_before": chosen.prune_before,
                    },
                )
            # read after the commit, which the pipeline sent with the claim: one round trip
            claimed = claim.fetchall()
            written = {int(r["id"]) for r in done.fetchall()} if done is not None else set()
            lock_row = locked.fetchone()
        return claimed, written, bool(lock_row and lock_row["queue_limits"])

    def _claim_queue_limited(
        self, params: ClaimParams, finish: dict[str, Any] | None, values: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], set[int], bool]:
        """No job of the worker has limits, only queues: admission in the claim statement, so
        the whole transaction is pipelined into one round trip."""
        values = {
            **values,
            "limit": params.limit,
            "lease_until": params.lease_until,
            "node_id": params.node_id,
        }
        with self._conn() as conn, conn.pipeline():
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                done = _write_outcomes(conn, params, finish)
                locked = conn.execute(LQ["limits_lock"], values)
                claim = conn.execute(LQ["limits_queue_claim"], values)
            claimed = claim.fetchall()
            written = {int(r["id"]) for r in done.fetchall()} if done is not None else set()
            lock_row = locked.fetchone()
        return claimed, written, bool(lock_row and lock_row["queue_limits"])


def _write_outcomes(
    conn: psycopg.Connection[Any], params: ClaimParams, finish: dict[str, Any] | None
) -> psycopg.Cursor[Any] | None:
    """Write the cycle's starts and outcomes (a finished run frees its place, unless a run
    claimed ahead took it) and settle the workflow steps after those that ended, in the
    claim's transaction; the cursor of the ids written."""
    if params.started:
        conn.execute(Q["runs_mark_started"], started_values(params))
    done = conn.execute(Q["runs_finish"], finish) if finish else None
    steps = [o.run_id for o in params.finish if o.settle]
    if steps:  # the steps after them move in this transaction (a step ended)
        send_settle(conn, steps, max(o.ended_at for o in params.finish))
    return done


def started_values(params: ClaimParams) -> dict[str, Any]:
    """The arrays of runs_mark_started."""
    return {
        "s_ids": [s.run_id for s in params.started],
        "s_attempts": [s.attempt for s in params.started],
        "s_ats": [s.at for s in params.started],
        "node_id": params.node_id,
    }
