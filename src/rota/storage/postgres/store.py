"""The cluster backend: PostgreSQL through psycopg 3 and its connection pool.

Claims use ``FOR UPDATE SKIP LOCKED`` so any number of workers claim without blocking each
other; a launch sends ``NOTIFY rota_runs`` in its own transaction, so listeners wake only once
the run is committed. Batches are sent as arrays and multi-statement writes are pipelined:
a worker's record-and-claim cycle costs one round trip.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from rota.errors import ConfigError, StorageUnavailable
from rota.runs import Run, RunState
from rota.storage.base import (
    CancelParams,
    ClaimParams,
    ClaimResult,
    FinishParams,
    HeartbeatParams,
    Inserted,
    InsertParams,
    ListParams,
    NewRun,
    Node,
    Outcome,
    ProgressParams,
    PurgeParams,
    ReleaseParams,
    RescueParams,
    RetryParams,
)
from rota.storage.rows import dumps, node_from_row, run_from_row
from rota.storage.sql import load_migrations, load_queries

Q = load_queries("rota.storage.postgres")
CHANNEL = "rota_runs"
MIGRATION_LOCK = 727_274_001  # pg_advisory_xact_lock key guarding schema upgrades


def _ts(value: Any) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else None


def conninfo(url: str) -> str:
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql+"):
        return "postgresql://" + url.split("://", 1)[1]
    return url


class PostgresStore:
    backend = "postgres"

    def __init__(self, url: str, max_connections: int = 10) -> None:
        self.url = url
        self._conninfo = conninfo(url)
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] | None = None
        self._max = max_connections

    # -- connections ---------------------------------------------------------------------
    def _get_pool(self) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
        if self._pool is None:
            self._pool = ConnectionPool(
                self._conninfo,
                min_size=1,
                max_size=self._max,
                kwargs={"autocommit": True, "row_factory": dict_row},
                timeout=10.0,
                open=True,
                name="rota",
            )
        return self._pool

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        try:
            with self._get_pool().connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StorageUnavailable(f"PostgreSQL: {str(exc).strip()}") from exc

    def _all(self, sql: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def _count(self, sql: Any, params: dict[str, Any]) -> int:
        with self._conn() as conn:
            return conn.execute(sql, params).rowcount

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> int:
        with self._conn() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rota_schema (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) AS v FROM rota_schema").fetchone()
            version = int(row["v"]) if row else 0
            for number, name, sql in load_migrations("rota.storage.postgres"):
                if number > version:
                    conn.execute(sql.encode())
                    conn.execute(
                        "INSERT INTO rota_schema (version, name) VALUES (%s, %s)", (number, name)
                    )
                    version = number
        return version

    def schema_version(self) -> int:
        try:
            rows = self._all("SELECT coalesce(max(version), 0) AS v FROM rota_schema", {})
        except psycopg.errors.UndefinedTable:
            return 0
        return int(rows[0]["v"])

    def notifier(self, queues: Sequence[str] | None) -> ListenNotifier:
        return ListenNotifier(self._conninfo, queues)

    # -- runs ----------------------------------------------------------------------------
    def runs_insert_many(self, params: InsertParams) -> list[Inserted]:
        if params.connection is not None:
            conn = params.connection
            if not isinstance(conn, psycopg.Connection):
                raise ConfigError("connection= must be a psycopg (3) connection for PostgreSQL")
            with conn.cursor() as cur:
                return self._insert(cur, params)
        with self._conn() as conn, conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            return self._insert(cur, params)

    def _insert(self, cur: psycopg.Cursor[Any], params: InsertParams) -> list[Inserted]:
        runs = list(params.runs)
        result: list[Inserted | None] = [None] * len(runs)
        todo = list(range(len(runs)))
        for _ in range(5):  # a unique-key holder may end between our insert and lookup
            todo = self._insert_round(cur, runs, todo, result, params.now)
            if not todo:
                break
        else:
            raise StorageUnavailable("unique-key insert kept conflicting; try again")
        queues = sorted({r.queue for r in runs if r.state is RunState.QUEUED})
        if queues:
            cur.execute(Q["notify"], {"queues": queues})
        return [r for r in result if r is not None]

    def _insert_round(
        self,
        cur: psycopg.Cursor[Any],
        runs: list[NewRun],
        todo: list[int],
        result: list[Inserted | None],
        now: datetime,
    ) -> list[int]:
        batch = [runs[i] for i in todo]
        cur.execute(Q["runs_insert"], _insert_arrays(batch, now))
        returned = cur.fetchall()
        new_by_key = {(_g(r, "job"), _g(r, "unique_key")): int(_g(r, "id")) for r in returned}
        ids = iter(sorted(int(_g(r, "id")) for r in returned))
        seen: set[tuple[str, str]] = set()
        conflicts: list[int] = []
        for i in todo:
            run = runs[i]
            key = (run.job, run.unique_key) if run.unique_key is not None else None
            if key is None or (key in new_by_key and key not in seen):
                result[i] = Inserted(next(ids), True)
                if key is not None:
                    seen.add(key)
            elif key in new_by_key:
                result[i] = Inserted(new_by_key[key], False)
            else:
                conflicts.append(i)
        if not conflicts:
            return []
        cur.execute(
            Q["runs_find_unique"],
            {
                "jobs": [runs[i].job for i in conflicts],
                "unique_keys": [runs[i].unique_key for i in conflicts],
            },
        )
        holders = {(_g(r, "job"), _g(r, "unique_key")): int(_g(r, "id")) for r in cur.fetchall()}
        retry = []
        for i in conflicts:
            found = holders.get((runs[i].job, runs[i].unique_key))
            if found is None:
                retry.append(i)
            else:
                result[i] = Inserted(found, False)
        return retry

    def runs_get(self, run_id: int) -> Run | None:
        rows = self._all(Q["runs_get"], {"id": run_id})
        return run_from_row(rows[0], _ts) if rows else None

    def runs_list(self, params: ListParams) -> list[Run]:
        rows = self._all(
            Q["runs_list"],
            {
                "states": [s.value for s in params.states] if params.states else None,
                "job": params.job,
                "queue": params.queue,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return [run_from_row(r, _ts) for r in rows]

    def runs_claim(self, params: ClaimParams) -> ClaimResult:
        values: dict[str, Any] = {
            "now": params.now,
            "lease_until": params.lease_until,
            "node_id": params.node_id,
            "limit": params.limit,
            "queues": list(params.queues) if params.queues is not None else None,
            "run_id": params.run_id,
        }
        if params.run_id is not None or params.limit <= 0:
            refused = self.runs_finish(FinishParams(params.finish))
            rows = self._all(Q["runs_claim_id"], values) if params.limit > 0 else []
            return ClaimResult(_sorted_runs(rows), refused)
        values.update(_finish_arrays(params.finish))
        rows = self._all(Q["runs_finish_and_claim"], values)
        finished = set(rows[0]["finished_ids"]) if rows else set()
        claimed = [r for r in rows if r["id"] is not None]
        refused = [o for o in params.finish if o.run_id not in finished]
        return ClaimResult(_sorted_runs(claimed), refused)

    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        if not params.outcomes:
            return []
        done = self._all(Q["runs_finish"], _finish_arrays(params.outcomes))
        return _refused(params.outcomes, done)

    def runs_release(self, params: ReleaseParams) -> int:
        return self._count(
            Q["runs_release"],
            {
                "ids": [r for r, _ in params.runs],
                "attempts": [a for _, a in params.runs],
                "node_id": params.node_id,
            },
        )

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
        rows = self._all(
            Q["runs_rescue"],
            {"now": params.now, "now_iso": params.now.isoformat(), "limit": params.limit},
        )
        return [run_from_row(r, _ts) for r in rows]

    def runs_progress(self, params: ProgressParams) -> bool:
        values = {
            "id": params.run_id,
            "attempt": params.attempt,
            "progress": dumps(params.progress),
        }
        return self._count(Q["runs_progress"], values) == 1

    def runs_cancel(self, params: CancelParams) -> dict[int, RunState]:
        values = {"ids": list(params.run_ids), "now": params.now}
        with self._conn() as conn, conn.transaction():
            rows = conn.execute(Q["runs_cancel_waiting"], values).fetchall()
            rows += conn.execute(Q["runs_cancel_running"], values).fetchall()
        return {int(r["id"]): RunState(r["state"]) for r in rows}

    def runs_retry(self, params: RetryParams) -> list[int]:
        rows = self._all(Q["runs_retry"], {"ids": list(params.run_ids), "now": params.now})
        return [int(r["id"]) for r in rows]

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

    def runs_next_due(self, queues: Sequence[str] | None, now: datetime) -> datetime | None:
        values = {"now": now, "queues": list(queues) if queues is not None else None}
        rows = self._all(Q["runs_next_due"], values)
        return _ts(rows[0]["min"]) if rows else None

    def runs_count_by_state(self) -> dict[RunState, int]:
        return {
            RunState(r["state"]): int(r["count"]) for r in self._all(Q["runs_count_by_state"], {})
        }

    # -- nodes ---------------------------------------------------------------------------
    def node_register(self, node: Node) -> None:
        self._count(
            Q["node_register"],
            {
                "id": node.id,
                "hostname": node.hostname,
                "pid": node.pid,
                "roles": dumps(node.roles),
                "started_at": node.started_at,
                "last_seen_at": node.last_seen_at,
                "info": dumps(node.info),
            },
        )

    def node_heartbeat(self, node_id: str, now: datetime) -> None:
        self._count(Q["node_heartbeat"], {"id": node_id, "now": now})

    def node_stop(self, node_id: str, now: datetime) -> None:
        self._count(Q["node_stop"], {"id": node_id, "now": now})

    def nodes_list(self, seen_after: datetime) -> list[Node]:
        return [
            node_from_row(r, _ts) for r in self._all(Q["nodes_list"], {"seen_after": seen_after})
        ]

    def nodes_prune(self, seen_before: datetime) -> int:
        return self._count(Q["nodes_prune"], {"seen_before": seen_before})


def _sorted_runs(rows: list[dict[str, Any]]) -> list[Run]:
    runs = (run_from_row(r, _ts) for r in rows)
    return sorted(runs, key=lambda r: (r.priority, r.run_at, r.id))


def _g(row: Any, key: str) -> Any:
    """A column of a row from our pool (dict rows) or a caller's connection (tuples)."""
    if isinstance(row, dict):
        return row[key]
    return row[("id", "job", "unique_key").index(key)]


def _insert_arrays(runs: Sequence[NewRun], now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "jobs": [r.job for r in runs],
        "queues": [r.queue for r in runs],
        "states": [r.state.value for r in runs],
        "args": [dumps(r.args) for r in runs],
        "priorities": [r.priority for r in runs],
        "max_attempts": [r.max_attempts for r in runs],
        "schedules": [r.schedule for r in runs],
        "unique_keys": [r.unique_key for r in runs],
        "timeouts": [r.timeout for r in runs],
        "run_ats": [r.run_at for r in runs],
    }


def _finish_arrays(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    return {
        "ids": [o.run_id for o in outcomes],
        "attempts": [o.attempt for o in outcomes],
        "node_ids": [o.node_id for o in outcomes],
        "states": [o.state.value for o in outcomes],
        "finished": [o.finished_at for o in outcomes],
        "results": [None if o.result is None else dumps(o.result) for o in outcomes],
        "errors": [None if o.error is None else dumps(o.error.to_json()) for o in outcomes],
        "run_ats": [o.run_at for o in outcomes],
    }


def _refused(outcomes: Sequence[Outcome], done: list[dict[str, Any]]) -> list[Outcome]:
    written = {(int(r["id"]), int(r["attempt"])) for r in done}
    return [o for o in outcomes if (o.run_id, o.attempt) not in written]


class ListenNotifier:
    """A dedicated connection that LISTENs; wakes on a launch into one of our queues."""

    def __init__(self, conninfo_: str, queues: Sequence[str] | None) -> None:
        try:
            self._conn = psycopg.connect(conninfo_, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL LISTEN: {str(exc).strip()}") from exc
        self._queues = set(queues) if queues is not None else None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                for note in self._conn.notifies(timeout=left, stop_after=1):
                    if self._queues is None or note.payload in self._queues:
                        return True
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL LISTEN: {str(exc).strip()}") from exc

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
