"""Batch executions on SQLite: launch rules and checkpoints inside immediate transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rota.batch.model import (
    BatchExecution,
    BatchState,
    PastExecution,
    StepExecution,
    admission_order,
    check_launch,
    effective_state,
)
from rota.clock import to_epoch
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
from rota.storage.rows import dumps, execution_from_row, from_text, step_from_row
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import Q, SQLiteBase, ts

B = load_queries("rota.storage.sqlite", "batch.sql")


class SQLiteBatch(SQLiteBase):
    # -- launching -----------------------------------------------------------------------
    def admit_executions(
        self, conn: sqlite3.Connection, runs: Sequence[NewRun], now: float
    ) -> dict[int, tuple[int, int | None]]:
        """Check the launch rules of each batch run before any row is inserted, so that a
        refusal leaves nothing behind, even in a caller's transaction (connection=)."""
        keys = [(r.job, r.batch.identity) if r.batch else None for r in runs]
        admitted: dict[int, tuple[int, int | None]] = {}
        for i in admission_order(keys):
            launch = runs[i].batch
            assert launch is not None
            if runs[i].unique_key is not None:
                held = {"job": runs[i].job, "unique_key": runs[i].unique_key}
                if conn.execute(Q["runs_find_unique"], held).fetchone() is not None:
                    continue  # the launch returns the run holding the key: nothing to admit
            admitted[i] = self._admit(conn, runs[i].job, launch, now)
        return admitted

    def attach_executions(
        self,
        conn: sqlite3.Connection,
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: dict[int, tuple[int, int | None]],
        now: float,
    ) -> None:
        """Create the execution of each new batch run, in the launch's transaction."""
        for i, (run, ins) in enumerate(zip(runs, inserted, strict=True)):
            if i in admitted and ins.created:
                instance, restart_of = admitted[i]
                self._insert_execution(conn, instance, run.job, run.args, ins.id, restart_of, now)

    def _admit(
        self, conn: sqlite3.Connection, job: str, launch: BatchLaunch, now: float
    ) -> tuple[int, int | None]:
        """The instance's id and the execution a new one restarts; raises BatchConflict."""
        instance = conn.execute(
            B["batch_instance_upsert"],
            {
                "job": job,
                "identity": launch.identity,
                "args": dumps(launch.instance_args),
                "now": now,
            },
        ).fetchone()[0]
        # by position: a caller's connection (connection=) has no row factory, its rows are tuples
        past = [
            PastExecution(int(r[0]), BatchState(r[1]), r[2], int(r[3]))
            for r in conn.execute(B["batch_instance_past"], {"instance_id": instance}).fetchall()
        ]
        restart_of = check_launch(job, past, launch.restart_limit)
        self._settle_past(conn, past, now)
        return int(instance), restart_of

    @staticmethod
    def _insert_execution(
        conn: sqlite3.Connection,
        instance: int,
        job: str,
        args: dict[str, Any],
        run_id: int,
        restart_of: int | None,
        now: float,
    ) -> int:
        row = conn.execute(
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
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _settle_past(conn: sqlite3.Connection, past: Sequence[PastExecution], now: float) -> None:
        """Rows still active whose run ended are written as they effectively are."""
        for e in past:
            state = effective_state(e)
            if state is not e.state:
                _reconcile_one(conn, e.id, state, e.run_state, now)

    def batch_relaunch(self, run_id: int, launch: BatchLaunch, now: datetime) -> int:
        with self._write() as conn:
            run = conn.execute(B["batch_run_of"], {"run_id": run_id}).fetchone()
            if run is None:
                raise LookupError(f"run {run_id} not found")
            at = to_epoch(now)
            instance, restart_of = self._admit(conn, run["job"], launch, at)
            args = from_text(run["args"])
            return self._insert_execution(conn, instance, run["job"], args, run_id, restart_of, at)

    # -- reading -------------------------------------------------------------------------
    def _with_steps(self, rows: list[sqlite3.Row]) -> list[BatchExecution]:
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        steps: dict[int, list[StepExecution]] = {i: [] for i in ids}
        for s in self._read(B["batch_steps_of"], {"ids": dumps(ids)}):
            steps[int(s["execution_id"])].append(step_from_row(s, ts, from_text))
        return [execution_from_row(r, ts, from_text, steps[int(r["id"])]) for r in rows]

    def batch_get(self, execution_id: int) -> BatchExecution | None:
        found = self._with_steps(self._read(B["batch_execution_get"], {"id": execution_id}))
        return found[0] if found else None

    def batch_for_run(self, run_id: int) -> BatchExecution | None:
        found = self._with_steps(self._read(B["batch_execution_for_run"], {"run_id": run_id}))
        return found[0] if found else None

    def batch_list(self, params: BatchListParams) -> list[BatchExecution]:
        states = dumps([s.value for s in params.states]) if params.states else None
        rows = self._read(
            B["batch_execution_list"],
            {
                "job": params.job,
                "states": states,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return self._with_steps(rows)

    def batch_history(self, instance_id: int) -> list[BatchExecution]:
        return self._with_steps(
            self._read(B["batch_execution_history"], {"instance_id": instance_id})
        )

    # -- executing -----------------------------------------------------------------------
    def batch_transition(self, params: BatchTransition) -> bool:
        with self._write() as conn:
            return conn.execute(B["batch_transition"], _transition(params)).rowcount > 0

    def batch_step_start(self, params: StepStart) -> StepExecution:
        with self._write() as conn:
            row = conn.execute(B["batch_step_insert"], _step_values(params, None)).fetchone()
        return step_from_row(dict(row) | {"run_state": None}, ts, from_text)

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
        with self._write() as conn:
            row = conn.execute(B["batch_chunk_commit"], values).fetchone()
            if row is None:
                return _already_applied(conn.execute, params)
            if write is not None:
                write(conn)
            if params.progress is not None:
                conn.execute(
                    B["batch_run_progress"],
                    {
                        "progress": dumps(params.progress),
                        "run_id": params.run_id,
                        "attempt": params.attempt,
                    },
                )
            return BatchState(row[0])

    def batch_step_finish(self, params: StepFinish) -> bool:
        with self._write() as conn:
            return (
                conn.execute(
                    B["batch_step_finish"],
                    {
                        "step_id": params.step_id,
                        "state": params.state.value,
                        "now": to_epoch(params.now),
                        "exit_status": params.exit_status,
                        "error": params.error,
                        "rollbacks": params.rollbacks,
                        **holder_params(params.holder),
                    },
                ).rowcount
                > 0
            )

    def batch_partitions_create(self, params: PartitionsParams) -> list[StepExecution]:
        key = {"execution_id": params.execution_id, "name": params.name}
        with self._write() as conn:
            if not conn.execute(B["batch_partitions_of"], key).fetchall():
                now = to_epoch(params.now)
                for p in params.partitions:
                    run_id = None
                    if p.run is not None:
                        ins = self.insert_runs(conn, InsertParams([p.run], params.now), now)
                        run_id = ins[0].id
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
                    conn.execute(B["batch_step_insert"], _step_values(start, run_id))
            rows = conn.execute(B["batch_partitions_of"], key).fetchall()
        return [step_from_row(r, ts, from_text) for r in rows]

    def batch_partitions(self, execution_id: int, name: str) -> list[StepExecution]:
        rows = self._read(B["batch_partitions_of"], {"execution_id": execution_id, "name": name})
        return [step_from_row(r, ts, from_text) for r in rows]

    def batch_reconcile(self, now: datetime) -> int:
        with self._write() as conn:
            found = conn.execute(B["batch_reconcile_find"], {"limit": 500}).fetchall()
            for r in found:
                state = BatchState.STOPPED if r["run_state"] == "cancelled" else BatchState.FAILED
                _reconcile_one(conn, int(r["id"]), state, r["run_state"], to_epoch(now))
        return len(found)


def _reconcile_one(
    conn: sqlite3.Connection,
    execution_id: int,
    state: BatchState,
    run_state: str | None,
    now: float,
) -> None:
    error = f"its run ended {run_state}" if run_state else "its run was deleted"
    values = {"id": execution_id, "state": state.value, "now": now, "error": error}
    conn.execute(B["batch_reconcile_execution"], values)
    conn.execute(B["batch_reconcile_open_steps"], values)


def _transition(params: BatchTransition) -> dict[str, Any]:
    return {
        "id": params.execution_id,
        "from_states": dumps([s.value for s in params.from_states]),
        "to": params.to.value,
        "now": to_epoch(params.now),
        "started": int(params.started),
        "finished": int(params.finished),
        "exit_status": params.exit_status,
        "error": params.error,
        **holder_params(params.holder),
    }


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
        "now": to_epoch(p.now),
    }


def _already_applied(execute: Callable[..., Any], params: ChunkCommit) -> BatchState | None:
    """The execution's state if this very commit went through before, else None (refused)."""
    if params.expected_commits is None:
        return None
    row = execute(B["batch_commit_applied"], applied_params(params)).fetchone()
    if row is None or int(row[0]) != params.expected_commits + 1:
        return None
    return BatchState(row[1])
