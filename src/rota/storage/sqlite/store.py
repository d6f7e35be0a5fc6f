"""The embedded backend: one SQLite file in WAL mode, shared by many processes.

Writers serialise on ``BEGIN IMMEDIATE``; readers never block writers. Each thread has its own
connection. Cross-process wake-ups come from polling ``PRAGMA data_version``, which changes when
another connection commits and costs no disk I/O.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from rota.clock import from_epoch, to_epoch
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
    Node,
    Outcome,
    ProgressParams,
    PurgeParams,
    ReleaseParams,
    RescueParams,
    RetryParams,
)
from rota.storage.rows import dumps, from_text, node_from_row, run_from_row
from rota.storage.sql import load_migrations, load_queries

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


def _ts(value: Any) -> datetime | None:
    return None if value is None else from_epoch(float(value))


def _ep(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


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


def _outcome_params(o: Outcome) -> dict[str, Any]:
    return {
        "id": o.run_id,
        "attempt": o.attempt,
        "node_id": o.node_id,
        "state": o.state.value,
        "finished_at": to_epoch(o.finished_at),
        "result": None if o.result is None else dumps(o.result),
        "error": None if o.error is None else dumps(o.error.to_json()),
        "run_at": _ep(o.run_at),
    }


class SQLiteStore:
    backend = "sqlite"

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
            if "locked" in msg or "busy" in msg or "unable to open" in msg or "disk I/O" in msg:
                raise StorageUnavailable(f"SQLite database {self.path}: {msg}") from exc
            raise

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._translate():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read(self, sql: str, params: dict[str, Any] | None = None) -> list[sqlite3.Row]:
        with self._translate():
            return self._conn().execute(sql, params or {}).fetchall()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- schema --------------------------------------------------------------------------
    def migrate(self) -> int:
        migrations = load_migrations("rota.storage.sqlite")
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

    def notifier(self, queues: Sequence[str] | None) -> DataVersionNotifier:
        return DataVersionNotifier(self)

    # -- runs ----------------------------------------------------------------------------
    def _check_same_file(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute("PRAGMA database_list").fetchall()
        main = next((r[2] for r in rows if r[1] == "main"), "")
        if not main or os.path.realpath(main) != os.path.realpath(self.path):
            raise ConfigError(
                f"connection= is open on {main or 'an in-memory database'!r}, "
                f"not on rota's database {self.path!r}"
            )

    def runs_insert_many(self, params: InsertParams) -> list[Inserted]:
        now = to_epoch(params.now)
        if params.connection is not None:
            conn = params.connection
            self._check_same_file(conn)
            return self._insert(conn, params, now)
        with self._write() as conn:
            return self._insert(conn, params, now)

    def _insert(self, conn: sqlite3.Connection, params: InsertParams, now: float) -> list[Inserted]:
        out: list[Inserted] = []
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
        return out

    def runs_get(self, run_id: int) -> Run | None:
        rows = self._read(Q["runs_get"], {"id": run_id})
        return run_from_row(rows[0], _ts, from_text) if rows else None

    def runs_list(self, params: ListParams) -> list[Run]:
        rows = self._read(
            Q["runs_list"],
            {
                "states": dumps([s.value for s in params.states]) if params.states else None,
                "job": params.job,
                "queue": params.queue,
                "before_id": params.before_id,
                "limit": params.limit,
            },
        )
        return [run_from_row(r, _ts, from_text) for r in rows]

    def runs_claim(self, params: ClaimParams) -> ClaimResult:
        with self._write() as conn:
            refused = self._finish(conn, params.finish)
            if params.limit <= 0:
                return ClaimResult([], refused)
            values: dict[str, Any] = {
                "now": to_epoch(params.now),
                "lease_until": to_epoch(params.lease_until),
                "node_id": params.node_id,
                "limit": params.limit,
            }
            if params.run_id is not None:
                values["run_id"] = params.run_id
                rows = conn.execute(Q["runs_claim_id"], values).fetchall()
            elif params.queues is None:
                rows = conn.execute(Q["runs_claim"], values).fetchall()
            else:
                values["queues"] = dumps(list(params.queues))
                rows = conn.execute(Q["runs_claim_queues"], values).fetchall()
        claimed = sorted(
            (run_from_row(r, _ts, from_text) for r in rows),
            key=lambda r: (r.priority, r.run_at, r.id),
        )
        return ClaimResult(claimed, refused)

    def _finish(self, conn: sqlite3.Connection, outcomes: Sequence[Outcome]) -> list[Outcome]:
        refused = []
        for o in outcomes:
            if conn.execute(Q["runs_finish"], _outcome_params(o)).rowcount != 1:
                refused.append(o)
        return refused

    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        if not params.outcomes:
            return []
        with self._write() as conn:
            return self._finish(conn, params.outcomes)

    def runs_release(self, params: ReleaseParams) -> int:
        with self._write() as conn:
            return sum(
                conn.execute(
                    Q["runs_release"], {"id": rid, "attempt": att, "node_id": params.node_id}
                ).rowcount
                for rid, att in params.runs
            )

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
        with self._write() as conn:
            rows = conn.execute(
                Q["runs_rescue"],
                {
                    "now": to_epoch(params.now),
                    "now_iso": params.now.isoformat(),
                    "limit": params.limit,
                },
            ).fetchall()
        return [run_from_row(r, _ts, from_text) for r in rows]

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
        ids = dumps(list(params.run_ids))
        with self._write() as conn:
            rows = conn.execute(Q["runs_cancel_waiting"], {"ids": ids, "now": to_epoch(params.now)})
            done = {int(r[0]): RunState(r[1]) for r in rows.fetchall()}
            rows = conn.execute(Q["runs_cancel_running"], {"ids": ids})
            done.update({int(r[0]): RunState(r[1]) for r in rows.fetchall()})
        return done

    def runs_retry(self, params: RetryParams) -> list[int]:
        with self._write() as conn:
            rows = conn.execute(
                Q["runs_retry"], {"ids": dumps(list(params.run_ids)), "now": to_epoch(params.now)}
            ).fetchall()
        return [int(r[0]) for r in rows]

    def runs_delete(self, run_id: int) -> bool:
        with self._write() as conn:
            return conn.execute(Q["runs_delete"], {"id": run_id}).rowcount == 1

    def runs_purge(self, params: PurgeParams) -> int:
        with self._write() as conn:
            return conn.execute(
                Q["runs_purge"],
                {
                    "states": dumps([s.value for s in params.states]),
                    "before": _ep(params.finished_before),
                    "limit": params.limit,
                },
            ).rowcount

    def runs_promote(self, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(Q["runs_promote"], {"now": to_epoch(now)}).rowcount

    def runs_next_due(self, queues: Sequence[str] | None, now: datetime) -> datetime | None:
        if queues is None:
            rows = self._read(Q["runs_next_due"], {"now": to_epoch(now)})
        else:
            rows = self._read(
                Q["runs_next_due_queues"], {"now": to_epoch(now), "queues": dumps(list(queues))}
            )
        return _ts(rows[0][0]) if rows else None

    def runs_count_by_state(self) -> dict[RunState, int]:
        return {RunState(r[0]): int(r[1]) for r in self._read(Q["runs_count_by_state"])}

    # -- nodes ---------------------------------------------------------------------------
    def node_register(self, node: Node) -> None:
        with self._write() as conn:
            conn.execute(
                Q["node_register"],
                {
                    "id": node.id,
                    "hostname": node.hostname,
                    "pid": node.pid,
                    "roles": dumps(node.roles),
                    "started_at": to_epoch(node.started_at),
                    "last_seen_at": to_epoch(node.last_seen_at),
                    "info": dumps(node.info),
                },
            )

    def node_heartbeat(self, node_id: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(Q["node_heartbeat"], {"id": node_id, "now": to_epoch(now)})

    def node_stop(self, node_id: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(Q["node_stop"], {"id": node_id, "now": to_epoch(now)})

    def nodes_list(self, seen_after: datetime) -> list[Node]:
        rows = self._read(Q["nodes_list"], {"seen_after": to_epoch(seen_after)})
        return [node_from_row(r, _ts, from_text) for r in rows]

    def nodes_prune(self, seen_before: datetime) -> int:
        with self._write() as conn:
            return conn.execute(Q["nodes_prune"], {"seen_before": to_epoch(seen_before)}).rowcount


class DataVersionNotifier:
    """Reports a commit by any other connection to the file, by polling ``data_version``."""

    POLL_SECONDS = 0.005

    def __init__(self, store: SQLiteStore) -> None:
        self._conn = store.connect()
        self._version = self._read()

    def _read(self) -> int:
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return -1

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.POLL_SECONDS, left))

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
