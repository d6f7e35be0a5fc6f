"""Batch executions on SQLite: the portable verbs, hooked into this backend's run insert."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rota.clock import from_epoch
from rota.storage.base import Inserted, NewRun
from rota.storage.portable.batch import Admitted, PortableBatch
from rota.storage.sqlite.connection import SQLiteBase
from rota.storage.sqlite.dialect import SQLiteTx


class SQLiteBatch(PortableBatch, SQLiteBase):
    def admit_executions(
        self, conn: sqlite3.Connection, runs: Sequence[NewRun], now: float
    ) -> Admitted:
        return self.admit_batches(SQLiteTx(conn), runs, from_epoch(now))

    def attach_executions(
        self,
        conn: sqlite3.Connection,
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: Admitted,
        now: float,
    ) -> None:
        self.attach_batches(SQLiteTx(conn), runs, inserted, admitted, from_epoch(now))
