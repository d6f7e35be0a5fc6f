"""PostgreSQL connections (psycopg 3 pool), schema upgrades and the shared run insert."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from rota.errors import ConfigError, RotaError, StorageUnavailable
from rota.storage.base import Inserted, InsertParams, NewRun
from rota.storage.dialect import Params, Row, SqlBackend, Tx
from rota.storage.postgres import options
from rota.storage.postgres.dialect import POSTGRES, PostgresTx
from rota.storage.postgres.dialect import ts as ts
from rota.storage.rows import dumps
from rota.storage.sql import load_migrations, load_queries
from rota.storage.urls import redact

Q = load_queries("rota.storage.postgres")
CHANNEL = "rota_runs"
MIGRATION_LOCK = 727_274_001  # pg_advisory_xact_lock key guarding schema upgrades
PROBE_TIMEOUT = 5  # seconds a direct connection may take (unless the URL sets connect_timeout)
POOL_TIMEOUT = 10.0  # seconds a caller waits for a connection from the pool
# What libpq says when no retry can help: a bad URL, database, user or password.
PERMANENT = (
    "does not exist",
    "authentication failed",
    "no pg_hba.conf entry",
    "no password supplied",
    "not permitted to log in",
    "permission denied",
    "invalid ",
    'missing "="',
    "unterminated quoted string",
)

# What a transaction pooler does to psycopg's prepared statements when not told of it.
LOST_PREPARED = (psycopg.errors.DuplicatePreparedStatement, psycopg.errors.InvalidSqlStatementName)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def is_permanent(exc: psycopg.Error) -> bool:
    """Whether a failed connection attempt would fail the same way however often it is tried."""
    text = str(exc).lower()
    return isinstance(exc, psycopg.ProgrammingError) or any(p in text for p in PERMANENT)


class PostgresBase(SqlBackend):
    backend = "postgres"
    dialect = POSTGRES

    def __init__(self, url: str, max_connections: int = 10) -> None:
        self.url = url
        self._options = options.parse(url)
        self._conninfo = self._options.conninfo
        try:
            params = conninfo_to_dict(self._conninfo)
        except psycopg.Error as exc:
            raise ConfigError(f"bad PostgreSQL URL {self._shown()}: {one_line(exc)}") from None
        # libpq waits forever for a silent server unless told otherwise
        self._timeout: dict[str, Any] = (
            {} if "connect_timeout" in params else {"connect_timeout": PROBE_TIMEOUT}
        )
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] | None = None
        self._pool_lock = threading.Lock()
        self._max = max_connections

    def _shown(self) -> str:
        return redact(self._conninfo)

    # -- connections ---------------------------------------------------------------------
    def _get_pool(self) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
        """The pool, opened once a direct connection has worked.

        The pool only logs why it cannot connect and then times out after ``POOL_TIMEOUT``;
        connecting once directly first gives the real cause at once, and fails for good on
        errors that no retry can fix.
        """
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is None:
                failure = self._probe()
                if failure is not None:
                    raise self._failure(failure, first=True)
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._max,
                    kwargs=self._connect_kwargs(),
                    timeout=POOL_TIMEOUT,
                    open=True,
                    name="rota",
                )
            return self._pool

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": dict_row, **self._timeout}
        if self._options.pooled:  # a prepared statement stays on a server connection
            kwargs["prepare_threshold"] = None
        return kwargs

    def _probe(self) -> psycopg.Error | None:
        """Why a direct connection fails, or None when it works."""
        try:
            psycopg.connect(self._conninfo, autocommit=True, **self._timeout).close()
        except psycopg.Error as exc:
            return exc
        return None

    def _failure(self, exc: psycopg.Error, first: bool) -> RotaError:
        """A ``ConfigError`` if the first connection fails for good, else StorageUnavailable
        (a node that ran keeps retrying through e.g. a password change)."""
        if first and is_permanent(exc):
            return ConfigError(f"cannot connect to PostgreSQL {self._shown()}: {one_line(exc)}")
        return StorageUnavailable(f"PostgreSQL: {one_line(exc)}")

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        try:
            with self._get_pool().connection() as conn:
                yield conn
        except PoolTimeout as exc:
            # the pool's reason is "couldn't get a connection": ask the server directly why
            cause = self._probe()
            self._drop_dead_connections()
            if cause is None:
                raise StorageUnavailable(f"PostgreSQL: {one_line(exc)}") from exc
            raise self._failure(cause, first=False) from exc
        except psycopg.OperationalError as exc:
            self._drop_dead_connections()
            raise StorageUnavailable(f"PostgreSQL: {one_line(exc)}") from exc
        except LOST_PREPARED as exc:  # a statement prepared on another server connection
            raise ConfigError(
                f"PostgreSQL {self._shown()}: {one_line(exc)}; if this URL goes through a"
                " pooler in transaction mode (PgBouncer), add ?rota_pooler=transaction to it"
            ) from exc

    def _drop_dead_connections(self) -> None:
        """After a server restart every idle connection is dead: test them all now, so the
        next call gets a fresh one instead of failing once per stale connection."""
        pool = self._pool
        if pool is not None:
            with contextlib.suppress(Exception):
                pool.check()

    def _all(self, sql: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def _count(self, sql: Any, params: dict[str, Any]) -> int:
        with self._conn() as conn:
            return conn.execute(sql, params).rowcount

    # -- what the portable verbs need (rota.storage.dialect) ----------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._conn() as conn, conn.transaction():
            yield PostgresTx(conn)

    def fetch(self, sql: LiteralString, params: Params | None = None) -> list[Row]:
        return self._all(sql, dict(params or {}))

    def write(self, sql: LiteralString, params: Params) -> int:
        return self._count(sql, dict(params))

    def write_rows(self, sql: LiteralString, params: Params) -> list[Row]:
        return self._all(sql, dict(params))

    @contextlib.contextmanager
    def joined(self, connection: Any) -> Iterator[Tx]:
        if not isinstance(connection, psycopg.Connection):
            raise ConfigError("connection= must be a psycopg (3) connection for PostgreSQL")
        yield PostgresTx(connection)

    def insert_in(self, tx: Tx, params: InsertParams) -> list[Inserted]:
        with tx.connection.cursor() as cur:
            return self.insert_runs(cur, params)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> int:
        """Create or upgrade the schema; a current one is recognised without any lock.

        Upgrades run under an advisory lock and read the version again, so concurrent first
        starts apply each migration once.
        """
        latest = max(
            (number for number, _, _ in load_migrations("rota.storage.postgres")), default=0
        )
        current = self.schema_version()
        if current >= latest:
            return current
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

    def insert_runs(self, cur: psycopg.Cursor[Any], params: InsertParams) -> list[Inserted]:
        runs = list(params.runs)
        batch = any(r.batch is not None for r in runs)
        admitted = self.admit_executions(cur, runs, params.now) if batch else {}
        result: list[Inserted | None] = [None] * len(runs)
        todo = list(range(len(runs)))
        for _ in range(5):  # a unique-key holder may end between our insert and lookup
            todo = self._insert_round(cur, runs, todo, result, params.now)
            if not todo:
                break
        else:
            raise StorageUnavailable("unique-key insert kept conflicting; try again")
        inserted = [r for r in result if r is not None]
        if batch:
            self.attach_executions(cur, runs, inserted, admitted, params.now)
        return inserted

    def admit_executions(
        self, cur: psycopg.Cursor[Any], runs: Sequence[NewRun], now: datetime
    ) -> dict[int, tuple[int, int | None]]:
        """Check batch runs' launch rules before inserting (implemented by the batch part)."""
        raise NotImplementedError

    def attach_executions(
        self,
        cur: psycopg.Cursor[Any],
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: dict[int, tuple[int, int | None]],
        now: datetime,
    ) -> None:
        """Create the executions of new batch runs (implemented by the batch part)."""
        raise NotImplementedError

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
        "kinds": [r.kind for r in runs],
        "c_groups": [r.concurrency_group for r in runs],
        "r_groups": [r.rate_group for r in runs],
        "workflow_ids": [r.workflow_id for r in runs],
        "steps": [r.step for r in runs],
    }
