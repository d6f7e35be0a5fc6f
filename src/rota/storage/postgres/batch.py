"""Batch executions on PostgreSQL: launch rules under a row lock of the instance, and
checkpoints fenced by a lock of the run's row, each in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from rota.batch.model import (
    BatchExecution,
    BatchState,
    PastExecution,
    StepExecution,
    admission_order,
    check_launch,
    effective_state,
)
from rota.storage.base import BatchLaunch, Inserted, InsertParams, NewRun
from rota.storage.batch_store import (
    BatchListParams,
    BatchTransition,
    ChunkCommit,
    PartitionsParams,
    StepFinish,
    StepStart,
    applied_params,
    holder_params,
)
from rota.storage.postgres.connection import PostgresBase, Q, ts
from rota.storage.rows import dumps, execution_from_row, step_from_row
from rota.storage.sql import load_queries

B = load_queries("rota.storage.postgres", "batch.sql")

DictCursor = psycopg.Cursor[dict[str, Any]]


class PostgresBatch(PostgresBase):
    # -- launching -----------------------------------------------------------------------
    def admit_executions(
        self, cur: psycopg.Cursor[Any], runs: Sequence[NewRun], now: datetime
    ) -> dict[int, tuple[int, int | None]]:
        """Check the launch rules of each batch run before any row is inserted, so that a
        refusal leaves nothing behind, even in a caller's transaction (connection=)."""
        keys = [(r.job, r.batch.identity) if r.batch else None for r in runs]
        admitted: dict[int, tuple[int, int | None]] = {}
        # A caller's connection (connection=) may return tuples: read through dict rows.
        with cur.connection.cursor(row_factory=dict_row) as dc:
            for i in admission_order(keys):
                launch = runs[i].batch
                assert launch is not None
                if runs[i].unique_key is not None:
                    held = {"jobs": [runs[i].job], "unique_keys": [runs[i].unique_key]}
                    if dc.execute(Q["runs_find_unique"], held).fetchone() is not None:
                        continue  # the launch returns the run holding the key
                admitted[i] = self._admit(dc, runs[i].job, launch, now)
        return admitted

    def attach_executions(
        self,
        cur: psycopg.Cursor[Any],
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: dict[int, tuple[int, int | None]],
        now: datetime,
    ) -> None:
        """Create the execution of each new batch run, in the launch's transaction."""
        with cur.connection.cursor(row_factory=dict_row) as dc:
            for i, (run, ins) in enumerate(zip(runs, inserted, strict=True)):
                if i in admitted and ins.created:
                    instance, restart_of = admitted[i]
                    _insert_execution(dc, instance, run.job, run.args, ins.id, restart_of, now)

    def _admit(
        self, cur: DictCursor, job: str, launch: BatchLaunch, now: datetime
    ) -> tuple[int, int | None]:
        """The instance's id and the execution a new one restarts; raises BatchConflict."""
        values = {
            "job": job,
            "identity": launch.identity,
            "args": dumps(launch.instance_args),
            "now": now,
        }
        instance = int(_one(cur, B["batch_instance_upsert"], values)["id"])
        _one(cur, B["batch_instance_lock"], {"instance_id": instance})
        cur.execute(B["batch_instance_past"], {"instance_id": instance})
        past = [
            PastExecution(
                int(r["id"]), BatchState(r["state"]), r["run_state"], int(r["live_partitions"])
            )
            for r in cur.fetchall()
        ]
        restart_of = check_launch(job, past, launch.restart_limit)
        for e in past:  # rows still active whose run ended are written as they effectively are
            state = effective_state(e)
            if state is not e.state:
                _reconcile_one(cur, e.id, state, e.run_state, now)
        return instance, restart_of

    def batch_relaunch(self, run_id: int, launch: BatchLaunch, now: datetime) -> int:
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(B["batch_run_of"], {"run_id": run_id})
            run = cur.fetchone()
            if run is None:
                raise LookupError(f"run {run_id} not found")
            instance, restart_of = self._admit(cur, run["job"], launch, now)
            return _insert_execution(
                cur, instance, run["job"], run["args"], run_id, restart_of, now
            )

    # -- reading -------------------------------------------------------------------------
    def _with_steps(self, rows: list[dict[str, Any]]) -> list[BatchExecution]:
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        steps: dict[int, list[StepExecution]] = {i: [] for i in ids}
        for s in self._all(B["batch_steps_of"], {"ids": ids}):
            steps[int(s["execution_id"])].append(step_from_row(s, ts))
        return [execution_from_row(r, ts, steps=steps[int(r["id"])]) for r in rows]

    def batch_get(self, execution_id: int) -> BatchExecution | None:
        found = self._with_steps(self._all(B["batch_execution_get"], {"id": execution_id}))
        return found[0] if found else None

    def batch_for_run(self, run_id: int) -> BatchExecution | None:
        found = self._with_steps(self._all(B["batch_execution_for_run"], {"run_id": run_id}))
        return found[0] if found else None

    def batch_list(self, params: BatchListParams) -> list[BatchExecution]:
        rows = self._all(
            B["batch_execution_list"],
            {
                "job": params.job,
                "states": [s.value for s in params.states] if params.states else None,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return self._with_steps(rows)

    def batch_history(self, instance_id: int) -> list[BatchExecution]:
        return self._with_steps(
            self._all(B["batch_execution_history"], {"instance_id": instance_id})
        )

    # -- executing -----------------------------------------------------------------------
    def batch_transition(self, params: BatchTransition) -> bool:
        values = {
            "id": params.execution_id,
            "from_states": [s.value for s in params.from_states],
            "to": params.to.value,
            "now": params.now,
            "started": params.started,
            "finished": params.finished,
            "exit_status": params.exit_status,
            "error": params.error,
            **holder_params(params.holder),
        }
        return self._count(B["batch_transition"], values) > 0

    def batch_step_start(self, params: StepStart) -> StepExecution:
        [row] = self._all(B["batch_step_insert"], _step_values(params, None))
        return step_from_row(row | {"run_state": None}, ts)

    def batch_chunk_commit(
        self, params: ChunkCommit, write: Callable[[Any], None] | None = None
    ) -> BatchState | None:
        values = {
            "step_id": params.step_id,
            "run_id": params.run_id,
            "attempt": params.attempt,
            "read": params.read,
            "written": params.written,
            "skipped": params.skipped,
            "filtered": params.filtered,
            "position": params.position,
            "context": dumps(params.context),
            "node_id": params.node_id,
            "expected_commits": params.expected_commits,
        }
        with self._conn() as conn, conn.transaction():
            row = conn.execute(B["batch_chunk_commit"], values).fetchone()
            if row is None:
                return _already_applied(conn, params)
            if write is not None:
                write(conn)
            if params.progress is not None:
                progress = {
                    "progress": dumps(params.progress),
                    "run_id": params.run_id,
                    "attempt": params.attempt,
                }
                conn.execute(B["batch_run_progress"], progress)
            return BatchState(row["state"])

    def batch_step_finish(self, params: StepFinish) -> bool:
        values = {
            "step_id": params.step_id,
            "state": params.state.value,
            "now": params.now,
            "exit_status": params.exit_status,
            "error": params.error,
            "rollbacks": params.rollbacks,
            **holder_params(params.holder),
        }
        return self._count(B["batch_step_finish"], values) > 0

    def batch_partitions_create(self, params: PartitionsParams) -> list[StepExecution]:
        key = {"execution_id": params.execution_id, "name": params.name}
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(B["batch_execution_lock"], key)
            if not cur.execute(B["batch_partitions_of"], key).fetchall():
                for p in params.partitions:
                    run_id = None
                    if p.run is not None:
                        run_id = self.insert_runs(cur, InsertParams([p.run], params.now))[0].id
                    start = StepStart(
                        params.execution_id,
                        params.name,
                        params.now,
                        p.index,
                        p.position,
                        p.context,
                        p.state,
                        p.args,
                        p.counts,
                    )
                    cur.execute(B["batch_step_insert"], _step_values(start, run_id))
            rows = cur.execute(B["batch_partitions_of"], key).fetchall()
        return [step_from_row(r, ts) for r in rows]

    def batch_partitions(self, execution_id: int, name: str) -> list[StepExecution]:
        rows = self._all(B["batch_partitions_of"], {"execution_id": execution_id, "name": name})
        return [step_from_row(r, ts) for r in rows]

    def batch_reconcile(self, now: datetime) -> int:
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            found = cur.execute(B["batch_reconcile_find"], {"limit": 500}).fetchall()
            for r in found:
                state = BatchState.STOPPED if r["run_state"] == "cancelled" else BatchState.FAILED
                _reconcile_one(cur, int(r["id"]), state, r["run_state"], now)
        return len(found)


def _one(cur: DictCursor, sql: Any, values: dict[str, Any]) -> dict[str, Any]:
    row = cur.execute(sql, values).fetchone()
    if row is None:  # pragma: no cover - these statements always return their row
        raise RuntimeError("a batch statement returned no row")
    return row


def _reconcile_one(
    cur: DictCursor, execution_id: int, state: BatchState, run_state: str | None, now: datetime
) -> None:
    error = f"its run ended {run_state}" if run_state else "its run was deleted"
    values = {"id": execution_id, "state": state.value, "now": now, "error": error}
    cur.execute(B["batch_reconcile_execution"], values)
    cur.execute(B["batch_reconcile_open_steps"], values)


def _step_values(p: StepStart, run_id: int | None) -> dict[str, Any]:
    read, written, skipped, filtered, commits = p.counts
    return {
        "execution_id": p.execution_id,
        "name": p.name,
        "partition": p.partition,
        "partition_args": None if p.partition_args is None else dumps(p.partition_args),
        "run_id": run_id,
        "state": p.state.value,
        "read": read,
        "written": written,
        "skipped": skipped,
        "filtered": filtered,
        "commits": commits,
        "position": p.position,
        "context": dumps(p.context),
        "now": p.now,
    }


def _insert_execution(
    cur: DictCursor,
    instance: int,
    job: str,
    args: dict[str, Any],
    run_id: int,
    restart_of: int | None,
    now: datetime,
) -> int:
    row = _one(
        cur,
        B["batch_execution_insert"],
        {
            "instance_id": instance,
            "job": job,
            "args": dumps(args),
            "state": BatchState.STARTING.value,
            "run_id": run_id,
            "restart_of": restart_of,
            "now": now,
        },
    )
    return int(row["id"])


def _already_applied(conn: psycopg.Connection[Any], params: ChunkCommit) -> BatchState | None:
    """The execution's state if this very commit went through before, else None (refused)."""
    if params.expected_commits is None:
        return None
    row = conn.execute(B["batch_commit_applied"], applied_params(params)).fetchone()
    if row is None or int(row["commit_count"]) != params.expected_commits + 1:
        return None
    return BatchState(row["state"])
