"""A write whose COMMIT fails must not leave the thread's SQLite connection inside a transaction.

SQLite keeps the transaction open when COMMIT fails (a deferred constraint, a full disk); if
rota did not roll it back, every later ``BEGIN IMMEDIATE`` on that thread would fail with
"cannot start a transaction within a transaction" and the node would never write again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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
