"""A process whose first rota call is a transactional enqueue, inside a transaction of its own
that has already written: opening the store must not need the write lock when the schema is
current (on SQLite it would wait for that very transaction, then fail "database is locked")."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

import rota
from rota.storage.base import Store

ORDERS = "rota_test_first_orders"  # rota_ prefix: the postgres fixture drops it between tests


@pytest.fixture
def user_conn(store: Store, database_url: str) -> Iterator[Any]:
    """The user's own connection to rota's database (schema current), with a table of theirs."""
    if store.backend == "sqlite":
        conn: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1)
    else:
        import psycopg

        conn = psycopg.connect(database_url)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {ORDERS} (id INTEGER PRIMARY KEY)")
    conn.commit()
    store.close()  # this process has no other rota connection open
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _first_call_enqueues(database_url: str, conn: Any) -> tuple[rota.App, int]:
    app = rota.App(database=database_url)

    @app.job
    def send_receipt(order_id: int) -> None: ...

    conn.execute(f"INSERT INTO {ORDERS} (id) VALUES (7)")  # the transaction has written
    handle = send_receipt.configure(connection=conn).enqueue(order_id=7)
    return app, handle.id


def test_the_run_exists_once_the_user_commits(database_url: str, user_conn: Any) -> None:
    app, run_id = _first_call_enqueues(database_url, user_conn)
    try:
        user_conn.commit()
        run = app.runs.get(run_id)
        assert (run.job, run.state, run.args) == ("send_receipt", "queued", {"order_id": 7})
    finally:
        app.close()


def test_no_run_exists_after_the_user_rolls_back(database_url: str, user_conn: Any) -> None:
    app, run_id = _first_call_enqueues(database_url, user_conn)
    try:
        user_conn.rollback()
        with pytest.raises(rota.RunNotFound):
            app.runs.get(run_id)
        assert app.runs.list() == []
    finally:
        app.close()
