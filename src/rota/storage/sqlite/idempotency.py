"""Idempotency keys on SQLite: the portable verbs, hooked into this backend's run insert."""

from __future__ import annotations

import sqlite3

from rota.storage.base import Inserted, InsertParams
from rota.storage.portable.idempotency import PortableIdempotency
from rota.storage.sqlite.connection import SQLiteBase
from rota.storage.sqlite.dialect import SQLiteTx


class SQLiteIdempotency(PortableIdempotency, SQLiteBase):
    def insert_idempotent(
        self, conn: sqlite3.Connection, params: InsertParams, now: float
    ) -> list[Inserted]:
        """The key and its run, in the immediate transaction (or the caller's) of ``conn``."""
        return self.idempotent_insert(SQLiteTx(conn), params)
