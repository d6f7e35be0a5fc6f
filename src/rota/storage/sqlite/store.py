"""The embedded backend: one SQLite file in WAL mode, shared by many processes.

The store is assembled from parts: connection.py (connections, transactions, schema),
notifier.py, and the verbs written once for both backends (``rota.storage.portable``) over
this backend's dialect (dialect.py); this module holds the runs verbs, the hot path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rota.clock import to_epoch
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
from rota.storage.rows import dumps, from_text, run_from_row
from rota.storage.sql import contains_pattern
from rota.storage.sqlite.batch import SQLiteBatch
from rota.storage.sqlite.connection import Q, ep, ts
from rota.storage.sqlite.connection import path_from_url as path_from_url
from rota.storage.sqlite.idempotency import SQLiteIdempotency
from rota.storage.sqlite.leader import SQLiteLeader
from rota.storage.sqlite.limits import SQLiteLimits
from rota.storage.sqlite.notifier import DataVersionNotifier
from rota.storage.sqlite.workflows import reopen_targets, settle
from rota.storage.writes import Write, hand_back, rescue_writes, writes


def _outcome_params(o: Outcome) -> dict[str, Any]:
    then, cancelled = o.then, o.if_cancelled
    return {
        "id": o.run_id,
        "attempt": o.attempt,
        "node_id": o.node_id,
        "state": then.state.value,
        "next_attempt": then.attempt,
        "finished_at": ep(then.finished_at),
        "run_at": ep(then.run_at),
        "c_state": cancelled.state.value,
        "c_attempt": cancelled.attempt,
        "c_finished_at": ep(cancelled.finished_at),
        "c_run_at": ep(cancelled.run_at),
        "result": None if o.result is None else dumps(o.result),
        "error": None if then.error is None else dumps(then.error.to_json()),
        "started_at": ep(o.started_at),
    }


def _write_params(
    w: Write, expired_at: datetime | None = None, dead_before: datetime | None = None
) -> dict[str, Any]:
    return {
        "id": w.id,
        "state": w.state.value,
        "attempt": w.attempt,
        "max_attempts": w.max_attempts,
        "run_at": ep(w.run_at),
        "finished_at": ep(w.finished_at),
        "cancel_requested": w.cancel_requested,
        "clear_lease": w.clear_lease,
        "error": None if w.error is None else dumps(w.error.to_json()),
        "was_state": w.was_state.value,
        "was_attempt": w.was_attempt,
        "was_cancel_requested": w.was_cancel_requested,
        "was_node_id": w.was_node_id,
        "expired_at": ep(expired_at),
        "dead_before": ep(dead_before),
    }


def _release_params(
    node_id: str, run_id: int, attempt: int, now: datetime | None
) -> dict[str, Any]:
    back, cancelled = hand_back(attempt, now)
    return {
        "id": run_id,
        "attempt": attempt,
        "node_id": node_id,
        "state": back.state.value,
        "next_attempt": back.attempt,
        "c_state": cancelled.state.value,
        "c_attempt": cancelled.attempt,
        "c_finished_at": ep(cancelled.finished_at),
    }


def _settles(run: Run, event: Event) -> bool:
    """Whether a cancel or retry of this workflow step moves the steps after it."""
    return event is not Event.RETRY or allowed(run.state, Event.REOPEN)


class SQLiteStore(
    PortableSchedules,
    PortableNodes,
    PortableStats,
    PortableQueues,
    SQLiteIdempotency,
    SQLiteBatch,
    SQLiteLeader,
    SQLiteLimits,
    PortableRateStarts,
    PortableRetention,
    PortableWorkflows,
):
    """The embedded backend: one SQLite file in WAL mode, shared by many processes."""

    def notifier(self, queues: Sequence[str] | None) -> DataVersionNotifier:
        return DataVersionNotifier(self)

    # -- runs ----------------------------------------------------------------------------
    def runs_insert_many(self, params: InsertParams) -> list[Inserted]:
        now = to_epoch(params.now)
        insert = self.insert_runs if params.idempotency is None else self.insert_idempotent
        if params.connection is not None:
            conn = params.connection
            self._check_same_file(conn)
            return insert(conn, params, now)
        with self._write() as conn:
            return insert(conn, params, now)

    def runs_get(self, run_id: int) -> Run | None:
        rows = self._read(Q["runs_get"], {"id": run_id})
        return run_from_row(rows[0], ts, from_text) if rows else None

    def runs_list(self, params: ListParams) -> list[Run]:
        rows = self._read(
            Q["runs_list"],
            {
                "states": dumps([s.value for s in params.states]) if params.states else None,
                "job": params.job,
                "queue": params.queue,
                "before_id": params.before_id,
                "min_id": params.min_id,
                "created_after": ep(params.created_after),
                "created_before": ep(params.created_before),
                "limit": params.limit,
                "search": None if params.search is None else contains_pattern(params.search),
            },
        )
        return [run_from_row(r, ts, from_text) for r in rows]

    def runs_newest_id(self) -> int | None:
        rows = self._read(Q["runs_newest_id"], {})
        return None if rows[0]["id"] is None else int(rows[0]["id"])

    def runs_claim(self, params: ClaimParams) -> ClaimResult:
        with self._write() as conn:
            for mark in params.started:  # before the outcomes: see ClaimParams.started
                conn.execute(
                    Q["runs_mark_started"],
                    {
                        "id": mark.run_id,
                        "attempt": mark.attempt,
                        "at": to_epoch(mark.at),
                        "node_id": params.node_id,
                    },
                )
            refused = self._finish(conn, params.finish)
            if params.limit <= 0:
                return ClaimResult([], refused, params.queue_limits)
            values: dict[str, Any] = {
                "now": to_epoch(params.now),
                "lease_until": to_epoch(params.lease_until),
                "node_id": params.node_id,
                "limit": params.limit,
                "jobs": None if params.jobs is None else dumps(list(params.jobs)),
            }
            if params.run_id is not None:
                values["run_id"] = params.run_id
                rows = conn.execute(Q["runs_claim_id"], values).fetchall()
            else:
                rows = self._claim(conn, params, values)
            queue_limits = bool(conn.execute(Q["queues_limited"]).fetchone()[0])
        claimed = sorted(
            (run_from_row(r, ts, from_text) for r in rows),
            key=lambda r: (r.priority, r.run_at, r.id),
        )
        return ClaimResult(claimed, refused, queue_limits)

    def _claim(
        self, conn: sqlite3.Connection, params: ClaimParams, values: dict[str, Any]
    ) -> list[sqlite3.Row]:
        if params.limited or params.queue_limits:
            return self.claim_limited(conn, params)
        query = Q["runs_claim"]
        if params.queues is not None:
            values["queues"] = dumps(list(params.queues))
            query = Q["runs_claim_queues"]
        slots = params.limit if params.slots is None else min(params.slots, params.limit)
        rows = conn.execute(query, {**values, "limit": slots, "ahead": False}).fetchall()
        if params.limit > slots and len(rows) == slots:  # the next ones: claimed ahead
            ahead = {**values, "limit": params.limit - slots, "ahead": True}
            rows += conn.execute(query, ahead).fetchall()
        return rows

    def _finish(self, conn: sqlite3.Connection, outcomes: Sequence[Outcome]) -> list[Outcome]:
        refused = []
        steps = []
        for o in outcomes:
            if conn.execute(Q["runs_finish"], _outcome_params(o)).rowcount != 1:
                refused.append(o)
            elif o.settle:
                steps.append(o.run_id)
        if steps:  # the steps after them move in this same transaction
            settle(conn, steps, max(o.ended_at for o in outcomes))
        return refused

    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        if not params.outcomes:
            return []
        with self._write() as conn:
            return self._finish(conn, params.outcomes)

    def runs_release(self, params: ReleaseParams) -> int:
        with self._write() as conn:
            released = sum(
                conn.execute(
                    Q["runs_release"], _release_params(params.node_id, rid, att, params.now)
                ).rowcount
                for rid, att in params.runs
            )
            # a step asked to cancel meanwhile ends cancelled: the steps after it too
            settle(conn, [rid for rid, _ in params.runs], params.now or datetime.now(UTC))
            return released

    def runs_heartbeat(self, params: HeartbeatParams) -> list[int]:
        if not params.run_ids:
            return []
        with self._write() as conn:
            rows = conn.execute(
                Q["runs_heartbeat"],
                {
                    "ids": dumps(list(params.run_ids)),
                    "node_id": params.node_id,
                    "lease_until": to_epoch(params.lease_until),
                },
            ).fetchall()
        return [int(r[0]) for r in rows if r[1]]

    def runs_rescue(self, params: RescueParams) -> list[Run]:
        values = {
            "now": to_epoch(params.now),
            "limit": params.limit,
            "dead_before": ep(params.dead_before),
        }
        with self._write() as conn:
            rows = conn.execute(Q["runs_expired"], values)
            expired = [run_from_row(r, ts, from_text) for r in rows.fetchall()]
            todo = rescue_writes(expired, params.now)
            rescued = self._apply(conn, todo, params.now, params.dead_before)
            settle(conn, [r.id for r in rescued if r.workflow is not None], params.now)
            return rescued

    def _apply(
        self,
        conn: sqlite3.Connection,
        todo: Sequence[Write],
        expired_at: datetime | None = None,
        dead_before: datetime | None = None,
    ) -> list[Run]:
        """Write each decision under its guard; returns the runs written, as they now are."""
        done = []
        for w in todo:
            row = conn.execute(
                Q["runs_apply"], _write_params(w, expired_at, dead_before)
            ).fetchone()
            if row is not None:
                done.append(run_from_row(row, ts, from_text))
        return done

    def _decide_and_apply(self, run_ids: Sequence[int], event: Event, now: datetime) -> list[Run]:
        """Cancel or retry; a workflow step retried reopens with the ended steps after it."""
        with self._write() as conn:
            rows = conn.execute(Q["runs_by_ids"], {"ids": dumps(list(run_ids))}).fetchall()
            found = [run_from_row(r, ts, from_text) for r in rows]
            plain = [r for r in found if event is not Event.RETRY or r.workflow is None]
            done = self._apply(conn, writes(plain, event, now))
            # a retry reopens from the steps it may reopen: one that did not fail or was
            # not cancelled is refused, and the failed steps after it stay as they are
            steps = [r.id for r in found if r.workflow is not None and _settles(r, event)]
            if event is Event.RETRY and steps:
                targets = [run_from_row(r, ts, from_text) for r in reopen_targets(conn, steps)]
                reopened = self._apply(conn, writes(targets, Event.REOPEN, now))
                done += [r for r in reopened if r.id in steps]
                steps = [r.id for r in reopened]
            settle(conn, steps, now)
            return done

    def runs_progress(self, params: ProgressParams) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                Q["runs_progress"],
                {
                    "id": params.run_id,
                    "attempt": params.attempt,
                    "progress": dumps(params.progress),
                },
            )
            return cur.rowcount == 1

    def runs_cancel(self, params: CancelParams) -> dict[int, RunState]:
        return {
            r.id: r.state for r in self._decide_and_apply(params.run_ids, Event.CANCEL, params.now)
        }

    def runs_retry(self, params: RetryParams) -> list[int]:
        return [r.id for r in self._decide_and_apply(params.run_ids, Event.RETRY, params.now)]

    def runs_delete(self, run_id: int) -> bool:
        with self._write() as conn:
            return conn.execute(Q["runs_delete"], {"id": run_id}).rowcount == 1

    def runs_purge(self, params: PurgeParams) -> int:
        with self._write() as conn:
            return conn.execute(
                Q["runs_purge"],
                {
                    "states": dumps([s.value for s in params.states]),
                    "before": ep(params.finished_before),
                    "limit": params.limit,
                },
            ).rowcount

    def runs_promote(self, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(Q["runs_promote"], {"now": to_epoch(now)}).rowcount

    def runs_foreign_jobs(self, params: ForeignParams) -> list[str]:
        values = {
            "now": to_epoch(params.now),
            "jobs": dumps(list(params.jobs)),
            "queues": None if params.queues is None else dumps(list(params.queues)),
            "scan": params.scan,
        }
        return [str(r[0]) for r in self._read(Q["runs_foreign_jobs"], values)]

    def runs_count_by_state(self) -> dict[RunState, int]:
        return {RunState(r[0]): int(r[1]) for r in self._read(Q["runs_count_by_state"])}
