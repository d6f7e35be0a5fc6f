"""Database faults the tests inflict, and the one check they need before freezing a process."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Iterator

from rota.storage import backend_of
from rota.storage.sqlite.store import path_from_url
from tests.integration.procs import WorkerProcess
from tests.support import wait_until


def _pg_connect(url: str) -> object:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def sqlite_exclusive_lock(url: str) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's write lock from another connection (``BEGIN EXCLUSIVE``) while inside."""
    conn = sqlite3.connect(path_from_url(url), isolation_level=None, timeout=10)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def terminate_backends(url: str) -> int:
    """Kill every other connection to the test database; returns how many were killed."""
    with _pg_connect(url) as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def nobody_holds_a_write(url: str) -> bool:
    """True when no connection sits inside a write transaction that a frozen process could
    keep open forever (SQLite: the write lock is free; PostgreSQL: nobody idle in one)."""
    if backend_of(url) == "sqlite":
        conn = sqlite3.connect(path_from_url(url), isolation_level=None, timeout=0.2)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()
    with _pg_connect(url) as conn:  # type: ignore[attr-defined]
        (busy,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() "
            "AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
        ).fetchone()
    return int(busy) == 0


def freeze(proc: WorkerProcess, url: str, timeout: float = 10.0) -> None:
    """SIGSTOP ``proc`` at a moment it holds no open write transaction.

    A process frozen inside a transaction would hold the SQLite write lock (or PostgreSQL row
    locks) and stall every other node: a different fault from the one under test.
    """

    def stopped_cleanly() -> bool:
        proc.send(signal.SIGSTOP)
        if nobody_holds_a_write(url):
            return True
        proc.send(signal.SIGCONT)
        return False

    wait_until(stopped_cleanly, timeout, f"a moment to freeze {proc.name} outside a transaction")
