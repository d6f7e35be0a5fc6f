"""Conformance: inserting runs inside the caller's own database transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rota.errors import ConfigError
from rota.runs import RunState
from rota.storage.base import InsertParams, ListParams, Store

from .support import T0, get, new_run

ORDERS = "rota_test_orders"  # rota_ prefix: the postgres fixture drops it between tests


@pytest.fixture
def caller_conn(store: Store, database_url: str) -> Iterator[Any]:
    """The user's own DB-API connection to rota's database, outside rota."""
    if store.backend == "sqlite":
        conn: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    else:
        import psycopg

        conn = psycopg.connect(database_url)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {ORDERS} (id INTEGER PRIMARY KEY, note TEXT)")
    conn.commit()
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _orders(store: Store, database_url: str) -> int:
    if store.backend == "sqlite":
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as c:
            count = c.execute(f"SELECT count(*) FROM {ORDERS}").fetchone()[0]
        c.close()
        return int(count)
    import psycopg

    with psycopg.connect(database_url) as c:
        row = c.execute(f"SELECT count(*) FROM {ORDERS}").fetchone()
        assert row is not None
        return int(row[0])


def _insert_with(store: Store, conn: Any, order_id: int) -> int:
    conn.execute(f"INSERT INTO {ORDERS} (id, note) VALUES ({order_id}, 'new order')")
    [inserted] = store.runs_insert_many(
        InsertParams([new_run("send_receipt", args={"order_id": order_id})], T0, conn)
    )
    assert inserted.created
    return inserted.id


def test_run_exists_once_the_caller_commits(
    store: Store, database_url: str, caller_conn: Any
) -> None:
    run_id = _insert_with(store, caller_conn, 1)
    assert store.runs_get(run_id) is None  # not visible outside the open transaction

    caller_conn.commit()
    run = get(store, run_id)
    assert run.state is RunState.QUEUED
    assert run.args == {"order_id": 1}
    assert _orders(store, database_url) == 1


def test_run_does_not_exist_after_the_caller_rolls_back(
    store: Store, database_url: str, caller_conn: Any
) -> None:
    run_id = _insert_with(store, caller_conn, 2)
    caller_conn.rollback()

    assert store.runs_get(run_id) is None
    assert store.runs_list(ListParams()) == []
    assert _orders(store, database_url) == 0
    # the store itself is not disturbed by the caller's rollback
    [after] = store.runs_insert_many(InsertParams([new_run()], T0))
    assert get(store, after.id).state is RunState.QUEUED


def test_insert_many_with_connection_and_unique_keys(store: Store, caller_conn: Any) -> None:
    got = store.runs_insert_many(
        InsertParams(
            [new_run("a", unique_key="k"), new_run("a", unique_key="k"), new_run("b")],
            T0,
            caller_conn,
        )
    )
    assert [i.created for i in got] == [True, False, True]
    assert got[0].id == got[1].id
    caller_conn.commit()
    assert store.runs_count_by_state() == {RunState.QUEUED: 2}


def test_connection_to_another_database_file_is_refused(store: Store, tmp_path: Path) -> None:
    if store.backend != "sqlite":
        pytest.skip("a SQLite file check")
    other = sqlite3.connect(tmp_path / "someone-else.db")
    memory = sqlite3.connect(":memory:")
    try:
        for conn in (other, memory):
            with pytest.raises(ConfigError):
                store.runs_insert_many(InsertParams([new_run()], T0, conn))
    finally:
        other.close()
        memory.close()
    assert store.runs_count_by_state() == {}
