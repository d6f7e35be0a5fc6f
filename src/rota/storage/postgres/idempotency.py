"""Idempotency keys on PostgreSQL: the portable verbs, hooked into this backend's run insert."""

from __future__ import annotations

from typing import Any

import psycopg

from rota.storage.base import Inserted, InsertParams
from rota.storage.portable.idempotency import PortableIdempotency
from rota.storage.postgres.connection import PostgresBase
from rota.storage.postgres.dialect import PostgresTx


class PostgresIdempotency(PortableIdempotency, PostgresBase):
    def insert_idempotent(self, cur: psycopg.Cursor[Any], params: InsertParams) -> list[Inserted]:
        """The key and its run, in the transaction (ours or the caller's) of ``cur``."""
        return self.idempotent_insert(PostgresTx(cur.connection), params)
