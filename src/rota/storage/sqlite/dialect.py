"""How SQLite stores what the portable verbs send: epoch seconds, JSON text, 0/1 flags.

Lists travel as JSON text read back with ``json_each``; a write transaction begins
``IMMEDIATE``, holding the database's write lock, so no row needs locking on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

from rota.clock import from_epoch, to_epoch
from rota.storage.dialect import Dialect, Params, Row
from rota.storage.rows import dumps, from_text


def ts(value: Any) -> datetime | None:
    return None if value is None else from_epoch(float(value))


def ep(value: datetime | None) -> float | None:
    return None if value is None else to_epoch(value)


def _array(values: Sequence[Any]) -> str:
    return dumps(list(values))


SQLITE = Dialect(
    package="rota.storage.sqlite",
    time=ep,
    read_time=ts,
    read_json=from_text,
    array=_array,
    flag=int,
    row_locks=False,
)


def dict_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, values, strict=True)}


class SQLiteTx:
    """Statements on one connection: rota's own in ``BEGIN IMMEDIATE``, or a caller's, whose
    rows are plain tuples (so each statement gets a cursor that makes dicts)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def _execute(self, sql: LiteralString, params: Params) -> sqlite3.Cursor:
        cursor = self._conn.cursor()
        cursor.row_factory = dict_row
        return cursor.execute(sql, params)

    def rows(self, sql: LiteralString, params: Params) -> list[Row]:
        return self._execute(sql, params).fetchall()

    def one(self, sql: LiteralString, params: Params) -> Row | None:
        row: Row | None = self._execute(sql, params).fetchone()
        return row

    def count(self, sql: LiteralString, params: Params) -> int:
        return self._execute(sql, params).rowcount
