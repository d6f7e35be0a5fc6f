"""The cluster backend: PostgreSQL through psycopg 3 and its connection pool.

Claims use ``FOR UPDATE SKIP LOCKED`` so any number of workers claim without blocking each
other; a launch sends ``NOTIFY rota_runs`` in its own transaction, so listeners wake only once
the run is committed. Batches are sent as arrays and multi-statement writes are pipelined:
a worker's record-and-claim cycle costs one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from rota.errors import ConfigError
from rota.runs import Event, Run, RunState, allowed
from rota.storage.base import (
    CancelParams,
    ClaimParams,
    ClaimResult,
    FinishParams,
    ForeignParams,
    HeartbeatParams,
    Inserted,
    InsertParams,
    ListParams,
    Outcome,
    ProgressParams,
    PurgeParams,
    ReleaseParams,
    RescueParams,
    RetryParams,
)
from rota.storage.portable.nodes import PortableNodes
from rota.storage.portable.queues import PortableQueues
from rota.storage.portable.rate_starts import PortableRateStarts
from rota.storage.portable.retention import PortableRetention
from rota.storage.portable.schedules import PortableSchedules
from rota.storage.portable.stats import PortableStats
from rota.storage.portable.workflows import PortableWorkflows
from rota.storage.postgres.batch import PostgresBatch
from rota.storage.postgres.connection import Q, ts
from rota.storage.postgres.idempotency import PostgresIdempotency
from rota.storage.postgres.leader import PostgresLeader
from rota.storage.postgres.limits import PostgresLimits, started_values
from rota.storage.postgres.notifier import ListenNotifier, PollNotifier
from rota.storage.postgres.workflows import READ_COMMITTED, reopen_targets, send_settle
from rota.storage.rows import dumps, run_from_row
from rota.storage.sql import contains_pattern
from rota.storage.writes import Write, hand_back, rescue_writes, writes

CLAIM_PLAN = (
    "SELECT set_config('transaction_isolation', 'read committed', true),"
    " set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true),"
    " set_config('enable_sort', 'off', true), set_config('jit', 'off', true)"
)
"""For the claim's transaction: READ COMMITTED, and the claim index walked in order. After a
bulk launch, before autovacuum's ANALYZE catches up, the planner takes the queue for a few
rows: it would read every waiting run (by bitmap, or by the job index it takes for selective)
and sort them all for each claim (30 ms per claim of 8 among 10,000 runs, against 1.6 ms
walking the index)."""


def _sorted_runs(rows: list[dict[str, Any]]) -> list[Run]:
    runs = (run_from_row(r, ts) for r in rows)
    return sorted(runs, key=lambda r: (r.priority, r.run_at, r.id))


def _iso(d: datetime | None) -> str | None:
    """A time sent as text: psycopg dumps a list of strings several times faster."""
    return None if d is None else d.isoformat()


def _finish_arrays(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    then = [o.then for o in outcomes]
    cancelled = [o.if_cancelled for o in outcomes]
    return {
        "ids": [o.run_id for o in outcomes],
        "attempts": [o.attempt for o in outcomes],
        "node_ids": [o.node_id for o in outcomes],
        "states": [d.state.value for d in then],
        "next_attempts": [d.attempt for d in then],
        "finished": [_iso(d.finished_at) for d in then],
        "run_ats": [_iso(d.run_at) for d in then],
        "c_states": [d.state.value for d in cancelled],
        "c_attempts": [d.attempt for d in cancelled],
        "c_finished": [_iso(d.finished_at) for d in cancelled],
        "c_run_ats": [_iso(d.run_at) for d in cancelled],
        "results": [None if o.result is None else dumps(o.result) for o in outcomes],
        "errors": [None if d.error is None else dumps(d.error.to_json()) for d in then],
        "starts": [_iso(o.started_at) for o in outcomes],
    }


def _write_arrays(
    todo: Sequence[Write], expired_at: datetime | None = None, dead_before: datetime | None = None
) -> dict[str, Any]:
    return {
        "ids": [w.id for w in todo],
        "states": [w.state.value for w in todo],
        "attempts": [w.attempt for w in todo],
        "max_attempts": [w.max_attempts for w in todo],
        "run_ats": [w.run_at for w in todo],
        "finished": [w.finished_at for w in todo],
        "cancels": [w.cancel_requested for w in todo],
        "clear_leases": [w.clear_lease for w in todo],
        "errors": [None if w.error is None else dumps(w.error.to_json()) for w in todo],
        "was_states": [w.was_state.value for w in todo],
        "was_attempts": [w.was_attempt for w in todo],
        "was_cancels": [w.was_cancel_requested for w in todo],
        "was_nodes": [w.was_node_id for w in todo],
        "expired_at": expired_at,
        "dead_before": dead_before,
    }


def _steps(outcomes: Sequence[Outcome]) -> tuple[list[int], datetime]:
    """The workflow steps among the outcomes, and when the last ended: what a finish settles."""
    steps = [o.run_id for o in outcomes if o.settle]
    return steps, max((o.ended_at for o in outcomes), default=datetime.now(UTC))


def _refused(outcomes: Sequence[Outcome], done: list[dict[str, Any]]) -> list[Outcome]:
    written = {int(r["id"]) for r in done}  # by id: a snooze or hand-back lowers the attempt
    return [o for o in outcomes if o.run_id not in written]


def _apply(
    conn: psycopg.Connection[dict[str, Any]],
    todo: Sequence[Write],
    expired_at: datetime | None = None,
    dead_before: datetime | None = None,
) -> list[Run]:
    """Write each decision under its guard; returns the runs written, as they now are."""
    if not todo:
        return []
    rows = conn.execute(Q["runs_apply"], _write_arrays(todo, expired_at, dead_before)).fetchall()
    return [run_from_row(r, ts) for r in rows]


def _settles(run: Run, event: Event) -> bool:
    """Whether a cancel or retry of this workflow step moves the steps after it."""
    return event is not Event.RETRY or allowed(run.state, Event.REOPEN)


class PostgresStore(
    PortableSchedules,
    PortableNodes,
    PortableStats,
    PortableQueues,
    PostgresIdempotency,
    PostgresBatch,
    PostgresLeader,
    PostgresLimits,
    PortableRateStarts,
    PortableRetention,
    PortableWorkflows,
):
    """The cluster backend; the connection pool and schema live in connection.py, the verbs
    shared with SQLite in ``rota.storage.portable``; this class holds the runs hot path."""

    def notifier(self, queues: Sequence[str] | None) -> ListenNotifier | PollNotifier:
        """LISTEN where the URL says (rota_listen, else the URL itself unless it goes through
        a transaction pooler); else no wake-ups: the worker's poll finds new runs."""
        if self._options.listen is None:
            return PollNotifier()
        return ListenNotifier(self._options.listen, queues)

    # -- runs ----------------------------------------------------------------------------
    def runs_insert_many(self, params: InsertParams) -> list[Inserted]:
        insert = self.insert_runs if params.idempotency is None else self.insert_idempotent
        if params.connection is not None:
            conn = params.connection
            if not isinstance(conn, psycopg.Connection):
                raise ConfigError("connection= must be a psycopg (3) connection for PostgreSQL")
            with conn.cursor() as cur:
                return insert(cur, params)
        with self._conn() as conn:
            if params.idempotency is not None:  # the key and its run commit together
                with conn.transaction(), conn.cursor() as cur:
                    return self.insert_idempotent(cur, params)
            if not any(r.unique_key or r.batch for r in params.runs):  # one atomic statement
                with conn.cursor() as cur:
                    return self.insert_runs(cur, params)
            # insert, then look up key holders or create the batch executions
            with conn.transaction(), conn.cursor() as cur:
                return self.insert_runs(cur, params)

    def runs_get(self, run_id: int) -> Run | None:
        rows = self._all(Q["runs_get"], {"id": run_id})
        return run_from_row(rows[0], ts) if rows else None

    def runs_list(self, params: ListParams) -> list[Run]:
        rows = self._all(
            Q["runs_list"],
            {
                "states": [s.value for s in params.states] if params.states else None,
                "job": params.job,
                "queue": params.queue,
                "before_id": params.before_id,
                "min_id": params.min_id,
                "created_after": params.created_after,
                "created_before": params.created_before,
                "limit": params.limit,
                "search": None if params.search is None else contains_pattern(params.search),
            },
        )
        return [run_from_row(r, ts) for r in rows]

    def runs_newest_id(self) -> int | None:
        rows = self._all(Q["runs_newest_id"], {})
        return None if rows[0]["id"] is None else int(rows[0]["id"])

    def runs_claim(self, params: ClaimParams) -> ClaimResult:
        values: dict[str, Any] = {
            "now": params.now,
            "lease_until": params.lease_until,
            "node_id": params.node_id,
            "limit": params.limit,
            "slots": params.limit if params.slots is None else params.slots,
            "queues": list(params.queues) if params.queues is not None else None,
            "run_id": params.run_id,
            "jobs": list(params.jobs) if params.jobs is not None else None,
        }
        if params.run_id is not None or params.limit <= 0:
            if params.started:
                self._count(Q["runs_mark_started"], started_values(params))
            refused = self.runs_finish(FinishParams(params.finish))
            rows = self._all(Q["runs_claim_id"], values) if params.limit > 0 else []
            return ClaimResult(_sorted_runs(rows), refused, params.queue_limits)
        if params.limited or params.queue_limits:
            finish = _finish_arrays(params.finish) if params.finish else None
            claimed, written, queue_limits = self.claim_limited(params, finish)
            refused = [o for o in params.finish if o.run_id not in written]
            return ClaimResult(_sorted_runs(claimed), refused, queue_limits)
        values.update(_finish_arrays(params.finish))
        steps, ended = _steps(params.finish)
        # One round trip, pipelined: the claim walks the claim index in order whatever the
        # statistics say (see CLAIM_PLAN), and the steps after finished ones move with it.
        with self._conn() as conn, conn.pipeline():
            with conn.transaction():
                conn.execute(CLAIM_PLAN)
                if params.started:
                    conn.execute(Q["runs_mark_started"], started_values(params))
                cur = conn.execute(Q["runs_finish_and_claim"], values)
                if steps:
                    send_settle(conn, steps, ended)
            rows = cur.fetchall()
        finished = set(rows[0]["finished_ids"]) if rows else set()
        claimed = [r for r in rows if r["id"] is not None]
        refused = [o for o in params.finish if o.run_id not in finished]
        queue_limits = bool(rows[0]["queue_limits"]) if rows else False
        return ClaimResult(_sorted_runs(claimed), refused, queue_limits)

    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        if not params.outcomes:
            return []
        steps, ended = _steps(params.outcomes)
        if not steps:
            done = self._all(Q["runs_finish"], _finish_arrays(params.outcomes))
            return _refused(params.outcomes, done)
        with self._conn() as conn, conn.pipeline():
            with conn.transaction():
                conn.execute(READ_COMMITTED)
                cur = conn.execute(Q["runs_finish"], _finish_arrays(params.outcomes))
                send_settle(conn, steps, ended)
            return _refused(params.outcomes, cur.fetchall())

    def runs_release(self, params: ReleaseParams) -> int:
        pairs = [hand_back(a, params.now) for _, a in params.runs]
        with self._conn() as conn, conn.transaction():
            conn.execute(READ_COMMITTED)
            released = conn.execute(
                Q["runs_release"],
                {
                    "ids": [r for r, _ in params.runs],
                    "attempts": [a for _, a in params.runs],
                    "states": [b.state.value for b, _ in pairs],
                    "next_attempts": [b.attempt for b, _ in pairs],
                    "c_states": [c.state.value for _, c in pairs],
                    "c_attempts": [c.attempt for _, c in pairs],
                    "c_finished": [c.finished_at for _, c in pairs],
                    "node_id": params.node_id,
                },
            ).rowcount
            # a step asked to cancel meanwhile ends cancelled: the steps after it too
            send_settle(conn, [r for r, _ in params.runs], params.now or datetime.now(UTC))
            return released

    def runs_heartbeat(self, params: HeartbeatParams) -> list[int]:
        if not params.run_ids:
            return []
        rows = self._all(
            Q["runs_heartbeat"],
            {
                "ids": list(params.run_ids),
                "node_id": params.node_id,
                "lease_until": params.lease_until,
            },
        )
        return [int(r["id"]) for r in rows if r["cancel_requested"]]

    def runs_rescue(self, params: RescueParams) -> list[Run]:
        values = {"now": params.now, "limit": params.limit, "dead_before": params.dead_before}
        with self._conn() as conn, conn.transaction():
            conn.execute(READ_COMMITTED)
            expired = [run_from_row(r, ts) for r in conn.execute(Q["runs_expired"], values)]
            todo = rescue_writes(expired, params.now)
            rescued = _apply(conn, todo, params.now, params.dead_before)
            send_settle(conn, [r.id for r in rescued if r.workflow is not None], params.now)
            return rescued

    def _decide_and_apply(self, run_ids: Sequence[int], event: Event, now: datetime) -> list[Run]:
        """Cancel or retry; a workflow step retried reopens with the ended steps after it."""
        with self._conn() as conn, conn.transaction():
            conn.execute(READ_COMMITTED)
            rows = conn.execute(Q["runs_lock"], {"ids": list(run_ids)}).fetchall()
            found = [run_from_row(r, ts) for r in rows]
            plain = [r for r in found if event is not Event.RETRY or r.workflow is None]
            done = _apply(conn, writes(plain, event, now))
            # a retry reopens from the steps it may reopen: one that did not fail or was
            # not cancelled is refused, and the failed steps after it stay as they are
            steps = [r.id for r in found if r.workflow is not None and _settles(r, event)]
            if event is Event.RETRY and steps:
                targets = [run_from_row(r, ts) for r in reopen_targets(conn, steps)]
                reopened = _apply(conn, writes(targets, Event.REOPEN, now))
                done += [r for r in reopened if r.id in steps]
                steps = [r.id for r in reopened]
            send_settle(conn, steps, now)
            return done

    def runs_progress(self, params: ProgressParams) -> bool:
        values = {
            "id": params.run_id,
            "attempt": params.attempt,
            "progress": dumps(params.progress),
        }
        return self._count(Q["runs_progress"], values) == 1

    def runs_cancel(self, params: CancelParams) -> dict[int, RunState]:
        return {
            r.id: r.state for r in self._decide_and_apply(params.run_ids, Event.CANCEL, params.now)
        }

    def runs_retry(self, params: RetryParams) -> list[int]:
        return [r.id for r in self._decide_and_apply(params.run_ids, Event.RETRY, params.now)]

    def runs_delete(self, run_id: int) -> bool:
        return self._count(Q["runs_delete"], {"id": run_id}) == 1

    def runs_purge(self, params: PurgeParams) -> int:
        return self._count(
            Q["runs_purge"],
            {
                "states": [s.value for s in params.states],
                "before": params.finished_before,
                "limit": params.limit,
            },
        )

    def runs_promote(self, now: datetime) -> int:
        return self._count(Q["runs_promote"], {"now": now})

    def runs_foreign_jobs(self, params: ForeignParams) -> list[str]:
        values = {
            "now": params.now,
            "jobs": list(params.jobs),
            "queues": list(params.queues) if params.queues is not None else None,
            "scan": params.scan,
        }
        return [str(r["job"]) for r in self._all(Q["runs_foreign_jobs"], values)]

    def runs_count_by_state(self) -> dict[RunState, int]:
        return {
            RunState(r["state"]): int(r["count"]) for r in self._all(Q["runs_count_by_state"], {})
        }
