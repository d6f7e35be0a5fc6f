"""How PostgreSQL takes what the portable verbs send: psycopg adapts times, lists and flags
itself (timestamptz, arrays, booleans), and returns jsonb already decoded.

Transactions are plain ones; the queries that serialise writers lock their rows
(``FOR UPDATE``), so concurrent nodes wait only for each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row

from rota.storage.dialect import Dialect, Params, Row
from rota.storage.rows import decoded


def ts(value: Any) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else None


def _time(value: datetime | None) -> datetime | None:
    return value


def _array(values: Sequence[Any]) -> list[Any]:
    return list(values)


POSTGRES = Dialect(
    package="rota.storage.postgres",
    time=_time,
    read_time=ts,
    read_json=decoded,
    array=_array,
    flag=bool,
    row_locks=True,
)


class PostgresTx:
    """Statements on one connection, in its transaction: rota's own from the pool, or a
    caller's (``connection=``), whose rows may be tuples (so each statement reads dicts)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    @property
    def connection(self) -> psycopg.Connection[Any]:
        return self._conn

    def rows(self, sql: LiteralString, params: Params) -> list[Row]:
        with self._conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchall()

    def one(self, sql: LiteralString, params: Params) -> Row | None:
        with self._conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(sql, params).fetchone()

    def count(self, sql: LiteralString, params: Params) -> int:
        with self._conn.cursor() as cur:
            return cur.execute(sql, params).rowcount
