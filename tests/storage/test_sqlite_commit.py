"""A write whose COMMIT fails must not leave the thread's SQLite connection inside a transaction.

SQLite keeps the transaction open when COMMIT fails (a deferred constraint, a full disk); if
rota did not roll it back, every later ``BEGIN IMMEDIATE`` on that thread would fail with
"cannot start a transaction within a transaction" and the node would never write again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rota.errors import StorageUnavailable
from rota.storage.sqlite.connection import SQLiteBase


def test_a_failed_commit_is_rolled_back_and_the_next_write_works(tmp_path: Path) -> None:
    base = SQLiteBase(f"sqlite:///{tmp_path / 'rota.db'}")
    with base.transaction() as tx:
        conn = tx.connection
        conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
            " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    # Foreign keys are enforced only when turned on, and only outside a transaction.
    base.fetch("PRAGMA foreign_keys = ON")

    with pytest.raises(sqlite3.IntegrityError), base.transaction() as tx:
        tx.connection.execute("INSERT INTO child (id, parent) VALUES (1, 42)")  # fails at COMMIT

    with base.transaction() as tx:
        tx.connection.execute("INSERT INTO parent (id) VALUES (42)")
        tx.connection.execute("INSERT INTO child (id, parent) VALUES (1, 42)")
    rows = base.fetch("SELECT id, parent FROM child")
    assert [dict(row) for row in rows] == [{"id": 1, "parent": 42}]
    base.close()


def test_a_full_database_is_unavailable_with_its_cause_and_stores_nothing(tmp_path: Path) -> None:
    """SQLITE_FULL (here: the file at ``max_page_count``, as a full disk answers) is an outage
    naming the cause, the write is rolled back, and writes go on once there is room."""
    base = SQLiteBase(f"sqlite:///{tmp_path / 'rota.db'}")
    with base.transaction() as tx:
        tx.connection.execute("CREATE TABLE blob (data BLOB NOT NULL)")
        pages = int(tx.connection.execute("PRAGMA page_count").fetchone()[0])
    base.fetch(f"PRAGMA max_page_count = {pages}")

    with pytest.raises(StorageUnavailable, match="its disk is full"), base.transaction() as tx:
        tx.connection.execute("INSERT INTO blob (data) VALUES (zeroblob(100000))")
    assert base.fetch("SELECT count(*) AS n FROM blob")[0]["n"] == 0

    base.fetch("PRAGMA max_page_count = 1000000")
    with base.transaction() as tx:
        tx.connection.execute("INSERT INTO blob (data) VALUES (zeroblob(100000))")
    assert base.fetch("SELECT count(*) AS n FROM blob")[0]["n"] == 1
    base.close()
