"""Batch executions on PostgreSQL: the portable verbs, hooked into this backend's run insert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from rota.storage.base import Inserted, NewRun
from rota.storage.portable.batch import Admitted, PortableBatch
from rota.storage.postgres.connection import PostgresBase
from rota.storage.postgres.dialect import PostgresTx


class PostgresBatch(PortableBatch, PostgresBase):
    def admit_executions(
        self, cur: psycopg.Cursor[Any], runs: Sequence[NewRun], now: datetime
    ) -> Admitted:
        return self.admit_batches(PostgresTx(cur.connection), runs, now)

    def attach_executions(
        self,
        cur: psycopg.Cursor[Any],
        runs: Sequence[NewRun],
        inserted: Sequence[Inserted],
        admitted: Admitted,
        now: datetime,
    ) -> None:
        self.attach_batches(PostgresTx(cur.connection), runs, inserted, admitted, now)
