"""Batch executions: launch rules and checkpoints, each in one transaction (both backends).

PostgreSQL serialises concurrent launches of one instance on a row lock of the instance, and
a manager creating partitions on a lock of its execution; SQLite's immediate transactions
serialise every writer already. Checkpoints are fenced by the run's holder in their SQL.
"""

from __future__ import annotations

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
from rota.storage.dialect import Row, SqlBackend, Tx
from rota.storage.portable.batch_rows import chunk_values, execution, step, step_values
from rota.storage.rows import dumps

ROW_LOCKS = frozenset({"batch_instance_lock", "batch_execution_lock"})
"""Queries run only where the dialect locks rows (``Dialect.row_locks``)."""

Admitted = dict[int, tuple[int, int | None]]
"""Index of a batch run in its launch -> (its instance, the execution it restarts)."""


class PortableBatch(SqlBackend):
    """``BatchStore`` over the backend's ``batch.sql``, and the batch part of a launch."""

    # -- launching -----------------------------------------------------------------------
    def admit_batches(self, tx: Tx, runs: Sequence[NewRun], now: datetime) -> Admitted:
        """Check the launch rules of each batch run before any row is inserted, so that a
        refusal leaves nothing behind, even in a caller's transaction (connection=)."""
        keys = [(r.job, r.batch.identity) if r.batch else None for r in runs]
        admitted: Admitted = {}
        for i in admission_order(keys):
            launch = runs[i].batch
            assert launch is not None
            if runs[i].unique_key is not None:
                held = {"job": runs[i].job, "unique_key": runs[i].unique_key}
                if tx.rows(self.dialect.queries("batch.sql")["batch_key_held"], held):
                    continue  # the launch returns the run holding the key: nothing to admit
            admitted[i] = self._admit(tx, runs[i].job, launch, now)
        return admitted

    def attach_batches(
        self,
        tx: Tx,
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: Admitted,
        now: datetime,
    ) -> None:
        """Create the execution of each new batch run, in the launch's transaction."""
        for i, (run, ins) in enumerate(zip(runs, inserted, strict=True)):
            if i in admitted and ins.created:
                instance, restart_of = admitted[i]
                self._insert_execution(tx, instance, run.job, run.args, ins.id, restart_of, now)

    def _admit(
        self, tx: Tx, job: str, launch: BatchLaunch, now: datetime
    ) -> tuple[int, int | None]:
        """The instance's id and the execution a new one restarts; raises BatchConflict."""
        d = self.dialect
        q = d.queries("batch.sql")
        values = {
            "job": job,
            "identity": launch.identity,
            "args": dumps(launch.instance_args),
            "now": d.time(now),
        }
        instance = int(_one(tx, q["batch_instance_upsert"], values)["id"])
        if d.row_locks:
            tx.rows(q["batch_instance_lock"], {"instance_id": instance})
        past = [
            PastExecution(
                int(r["id"]), BatchState(r["state"]), r["run_state"], int(r["live_partitions"])
            )
            for r in tx.rows(q["batch_instance_past"], {"instance_id": instance})
        ]
        restart_of = check_launch(job, past, launch.restart_limit)
        for e in past:  # rows still active whose run ended are written as they effectively are
            state = effective_state(e)
            if state is not e.state:
                self._reconcile_one(tx, e.id, state, e.run_state, now)
        return instance, restart_of

    def _insert_execution(
        self,
        tx: Tx,
        instance: int,
        job: str,
        args: dict[str, Any],
        run_id: int,
        restart_of: int | None,
        now: datetime,
    ) -> int:
        values = {
            "instance_id": instance,
            "job": job,
            "args": dumps(args),
            "state": BatchState.STARTING.value,
            "run_id": run_id,
            "restart_of": restart_of,
            "now": self.dialect.time(now),
        }
        return int(
            _one(tx, self.dialect.queries("batch.sql")["batch_execution_insert"], values)["id"]
        )

    def batch_relaunch(self, run_id: int, launch: BatchLaunch, now: datetime) -> int:
        q = self.dialect.queries("batch.sql")
        with self.transaction() as tx:
            run = tx.one(q["batch_run_of"], {"run_id": run_id})
            if run is None:
                raise LookupError(f"run {run_id} not found")
            instance, restart_of = self._admit(tx, run["job"], launch, now)
            args = self.dialect.read_json(run["args"])
            return self._insert_execution(tx, instance, run["job"], args, run_id, restart_of, now)

    # -- reading -------------------------------------------------------------------------
    def batch_get(self, execution_id: int) -> BatchExecution | None:
        q = self.dialect.queries("batch.sql")
        found = self._with_steps(self.fetch(q["batch_execution_get"], {"id": execution_id}))
        return found[0] if found else None

    def batch_for_run(self, run_id: int) -> BatchExecution | None:
        q = self.dialect.queries("batch.sql")
        found = self._with_steps(self.fetch(q["batch_execution_for_run"], {"run_id": run_id}))
        return found[0] if found else None

    def batch_list(self, params: BatchListParams) -> list[BatchExecution]:
        d = self.dialect
        values = {
            "job": params.job,
            "states": d.array([s.value for s in params.states]) if params.states else None,
            "before_id": params.before_id,
            "limit": params.limit,
        }
        return self._with_steps(self.fetch(d.queries("batch.sql")["batch_execution_list"], values))

    def batch_history(self, instance_id: int) -> list[BatchExecution]:
        q = self.dialect.queries("batch.sql")["batch_execution_history"]
        return self._with_steps(self.fetch(q, {"instance_id": instance_id}))

    def batch_partitions(self, execution_id: int, name: str) -> list[StepExecution]:
        q = self.dialect.queries("batch.sql")["batch_partitions_of"]
        rows = self.fetch(q, {"execution_id": execution_id, "name": name})
        return [step(r, self.dialect) for r in rows]

    def _with_steps(self, rows: list[Row]) -> list[BatchExecution]:
        if not rows:
            return []
        ids = [int(r["id"]) for r in rows]
        steps: dict[int, list[StepExecution]] = {i: [] for i in ids}
        q = self.dialect.queries("batch.sql")["batch_steps_of"]
        for s in self.fetch(q, {"ids": self.dialect.array(ids)}):
            steps[int(s["execution_id"])].append(step(s, self.dialect))
        return [execution(r, self.dialect, steps[int(r["id"])]) for r in rows]

    # -- executing -----------------------------------------------------------------------
    def batch_transition(self, params: BatchTransition) -> bool:
        d = self.dialect
        values = {
            "id": params.execution_id,
            "from_states": d.array([s.value for s in params.from_states]),
            "to": params.to.value,
            "now": d.time(params.now),
            "started": d.flag(params.started),
            "finished": d.flag(params.finished),
            "exit_status": params.exit_status,
            "error": params.error,
            **holder_params(params.holder),
        }
        return self.write(d.queries("batch.sql")["batch_transition"], values) > 0

    def batch_step_start(self, params: StepStart) -> StepExecution:
        q = self.dialect.queries("batch.sql")["batch_step_insert"]
        [row] = self.write_rows(q, step_values(params, None, self.dialect))
        return step(row | {"run_state": None}, self.dialect)

    def batch_chunk_commit(
        self, params: ChunkCommit, write: Callable[[Any], None] | None = None
    ) -> BatchState | None:
        q = self.dialect.queries("batch.sql")
        with self.transaction() as tx:
            row = tx.one(q["batch_chunk_commit"], chunk_values(params))
            if row is None:
                return self._already_applied(tx, params)
            if write is not None:
                write(tx.connection)
            if params.progress is not None:
                progress = {
                    "progress": dumps(params.progress),
                    "run_id": params.run_id,
                    "attempt": params.attempt,
                }
                tx.count(q["batch_run_progress"], progress)
            return BatchState(row["state"])

    def _already_applied(self, tx: Tx, params: ChunkCommit) -> BatchState | None:
        """The execution's state if this very commit went through before, else None (refused)."""
        if params.expected_commits is None:
            return None
        q = self.dialect.queries("batch.sql")["batch_commit_applied"]
        row = tx.one(q, applied_params(params))
        if row is None or int(row["commit_count"]) != params.expected_commits + 1:
            return None
        return BatchState(row["state"])

    def batch_step_finish(self, params: StepFinish) -> bool:
        values = {
            "step_id": params.step_id,
            "state": params.state.value,
            "now": self.dialect.time(params.now),
            "exit_status": params.exit_status,
            "error": params.error,
            "rollbacks": params.rollbacks,
            **holder_params(params.holder),
        }
        return self.write(self.dialect.queries("batch.sql")["batch_step_finish"], values) > 0

    def batch_partitions_create(self, params: PartitionsParams) -> list[StepExecution]:
        q = self.dialect.queries("batch.sql")
        key = {"execution_id": params.execution_id, "name": params.name}
        with self.transaction() as tx:
            if self.dialect.row_locks:
                tx.rows(q["batch_execution_lock"], key)
            if not tx.rows(q["batch_partitions_of"], key):
                for p in params.partitions:
                    run_id = None
                    if p.run is not None:
                        run_id = self.insert_in(tx, InsertParams([p.run], params.now))[0].id
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
                    tx.count(q["batch_step_insert"], step_values(start, run_id, self.dialect))
            rows = tx.rows(q["batch_partitions_of"], key)
        return [step(r, self.dialect) for r in rows]

    def batch_reconcile(self, now: datetime) -> int:
        q = self.dialect.queries("batch.sql")
        with self.transaction() as tx:
            found = tx.rows(q["batch_reconcile_find"], {"limit": 500})
            for r in found:
                state = BatchState.STOPPED if r["run_state"] == "cancelled" else BatchState.FAILED
                self._reconcile_one(tx, int(r["id"]), state, r["run_state"], now)
        return len(found)

    def _reconcile_one(
        self, tx: Tx, execution_id: int, state: BatchState, run_state: str | None, now: datetime
    ) -> None:
        q = self.dialect.queries("batch.sql")
        error = f"its run ended {run_state}" if run_state else "its run was deleted"
        values = {
            "id": execution_id,
            "state": state.value,
            "now": self.dialect.time(now),
            "error": error,
        }
        tx.count(q["batch_reconcile_execution"], values)
        tx.count(q["batch_reconcile_open_steps"], values)


def _one(tx: Tx, sql: Any, values: dict[str, Any]) -> Row:
    row = tx.one(sql, values)
    if row is None:  # pragma: no cover - these statements always return their row
        raise RuntimeError("a batch statement returned no row")
    return row
