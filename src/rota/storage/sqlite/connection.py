"""SQLite connections, transactions and schema upgrades, shared by the store's parts.

Writers serialise on ``BEGIN IMMEDIATE``; readers never block writers. Each thread has its own
connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, LiteralString

from rota.clock import to_epoch
from rota.errors import ConfigError, StorageUnavailable
from rota.storage.base import Inserted, InsertParams, NewRun
from rota.storage.dialect import Params, Row, SqlBackend, Tx
from rota.storage.rows import dumps
from rota.storage.sql import load_migrations, load_queries
from rota.storage.sqlite.dialect import SQLITE, SQLiteTx
from rota.storage.sqlite.dialect import ep as ep
from rota.storage.sqlite.dialect import ts as ts

Q = load_queries("rota.storage.sqlite")
BUSY_TIMEOUT_MS = 10_000


def path_from_url(url: str) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ConfigError(
            f"bad SQLite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    path = url[len(prefix) :]
    if path == ":memory:":
        raise ConfigError("an in-memory SQLite database cannot be shared by a worker: use a file")
    return path


def _split_statements(script: str) -> list[str]:
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in current.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement in migration: {current[:80]!r}")
    return statements


class SQLiteBase(SqlBackend):
    backend = "sqlite"
    dialect = SQLITE

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = os.path.abspath(path_from_url(url))
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # -- connections ---------------------------------------------------------------------
    def connect(self) -> sqlite3.Connection:
        folder = os.path.dirname(self.path)
        if folder and not os.path.isdir(folder):
            raise ConfigError(f"cannot open SQLite database {self.path}: folder does not exist")
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        with self._translate():
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        # Switching a fresh file to WAL answers "locked" at once, without the busy handler,
        # while another process switches it too: retry for as long as the busy timeout.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "readonly" in msg:
                # SQLite opened the file read-only (no write permission at connect time) and
                # the connection stays so: drop it, so a try after the file is writable again
                # connects afresh and succeeds.
                self._forget_connection()
                raise StorageUnavailable(
                    f"SQLite database {self.path} is read-only (check the file's and its "
                    f"folder's permissions): {msg}"
                ) from exc
            if "disk is full" in msg:  # SQLITE_FULL: an outage that ends when space is freed
                raise StorageUnavailable(
                    f"SQLite database {self.path}: its disk is full (free some space): {msg}"
                ) from exc
            if "locked" in msg or "busy" in msg or "unable to open" in msg or "disk I/O" in msg:
                raise StorageUnavailable(f"SQLite database {self.path}: {msg}") from exc
            raise

    def _forget_connection(self) -> None:
        """Close this thread's connection; its next call opens a new one."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(sqlite3.Error):
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a deferred constraint, a full disk) leaves the transaction
                # open: roll it back, or every later BEGIN on this thread's connection fails.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        with self._translate():
            return self._conn().execute(sql, params or {}).fetchall()

    # -- what the portable verbs need (rota.storage.dialect) ----------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._write() as conn:
            yield SQLiteTx(conn)

    def fetch(self, sql: LiteralString, params: Params | None = None) -> list[Row]:
        with self._translate():
            return SQLiteTx(self._conn()).rows(sql, params or {})

    def write(self, sql: LiteralString, params: Params) -> int:
        with self._write() as conn:
            return conn.execute(sql, params).rowcount

    def write_rows(self, sql: LiteralString, params: Params) -> list[Row]:
        with self._write() as conn:
            return SQLiteTx(conn).rows(sql, params)

    @contextlib.contextmanager
    def joined(self, connection: Any) -> Iterator[Tx]:
        if not isinstance(connection, sqlite3.Connection):
            raise ConfigError("connection= must be a sqlite3 connection for SQLite")
        self._check_same_file(connection)
        with self._translate():
            yield SQLiteTx(connection)

    def insert_in(self, tx: Tx, params: InsertParams) -> list[Inserted]:
        return self.insert_runs(tx.connection, params, to_epoch(params.now))

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> int:
        """Create or upgrade the schema; a current one is recognised without the write lock.

        Taking the write lock for nothing would make a process's first rota call wait for (and
        fail behind) any open write transaction, even its own caller's ``connection=``. Upgrades
        run under ``BEGIN IMMEDIATE`` and read the version again, so concurrent first starts
        apply each migration once.
        """
        migrations = load_migrations("rota.storage.sqlite")
        latest = max((number for number, _, _ in migrations), default=0)
        current = self.schema_version()
        if current >= latest:
            return current
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rota_schema ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            current = conn.execute("SELECT coalesce(max(version), 0) FROM rota_schema").fetchone()
            version = int(current[0])
            for number, name, sql in migrations:
                if number <= version:
                    continue
                for statement in _split_statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO rota_schema (version, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, time.time()),
                )
                version = number
        return version

    def schema_version(self) -> int:
        try:
            rows = self._read("SELECT coalesce(max(version), 0) FROM rota_schema")
        except sqlite3.OperationalError:
            return 0
        return int(rows[0][0])

    def _check_same_file(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("PRAGMA database_list").fetchall()
        main = next((r[2] for r in rows if r[1] == "main"), "")
        if not main or os.path.realpath(main) != os.path.realpath(self.path):
            raise ConfigError(
                f"connection= is open on {main or 'an in-memory database'!r}, "
                f"not on rota's database {self.path!r}"
            )

    def insert_runs(
        self, conn: sqlite3.Connection, params: InsertParams, now: float
    ) -> list[Inserted]:
        out: list[Inserted] = []
        batch = any(r.batch is not None for r in params.runs)
        admitted = self.admit_executions(conn, params.runs, now) if batch else {}
        for new in params.runs:
            values = {
                "job": new.job,
                "queue": new.queue,
                "state": new.state.value,
                "args": dumps(new.args),
                "priority": new.priority,
                "max_attempts": new.max_attempts,
                "schedule": new.schedule,
                "unique_key": new.unique_key,
                "timeout": new.timeout,
                "run_at": to_epoch(new.run_at),
                "now": now,
                "kind": new.kind,
                "c_group": new.concurrency_group,
                "r_group": new.rate_group,
                "workflow_id": new.workflow_id,
                "step": new.step,
            }
            row = conn.execute(Q["runs_insert"], values).fetchone()
            if row is not None:
                out.append(Inserted(int(row[0]), True))
                continue
            found = conn.execute(
                Q["runs_find_unique"], {"job": new.job, "unique_key": new.unique_key}
            ).fetchone()
            if found is None:  # pragma: no cover - the unique index is the only conflict
                raise RuntimeError("insert conflicted but no run holds the unique key")
            out.append(Inserted(int(found[0]), False))
        if batch:
            self.attach_executions(conn, params.runs, out, admitted, now)
        return out

    def admit_executions(
        self, conn: sqlite3.Connection, runs: Sequence[NewRun], now: float
    ) -> dict[int, tuple[int, int | None]]:
        """Check batch runs' launch rules before inserting (implemented by the batch part)."""
        raise NotImplementedError

    def attach_executions(
        self,
        conn: sqlite3.Connection,
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: dict[int, tuple[int, int | None]],
        now: float,
    ) -> None:
        """Create the executions of new batch runs (implemented by the batch part)."""
        raise NotImplementedError
