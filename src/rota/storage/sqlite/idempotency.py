"""Idempotency keys on SQLite: the key and its run are written in one immediate transaction."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from rota.clock import to_epoch
from rota.errors import IdempotencyConflict, StorageUnavailable
from rota.storage.base import IdempotencyKey, Inserted, InsertParams
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase

K = load_queries("rota.storage.sqlite", "idempotency.sql")


class SQLiteIdempotency(SQLiteBase):
    def insert_idempotent(
        self, conn: sqlite3.Connection, params: InsertParams, now: float
    ) -> list[Inserted]:
        """Claim the key, then insert the run and link it; a live key returns its run."""
        idem = params.idempotency
        assert idem is not None
        claim = {
            "key": idem.key,
            "fingerprint": idem.fingerprint,
            "now": now,
            "expires_at": to_epoch(idem.expires_at),
        }
        if not conn.execute(K["idempotency_claim"], claim).fetchall():
            return [_replay(conn, idem)]
        inserted = self.insert_runs(conn, params, now)
        conn.execute(K["idempotency_link"], {"key": idem.key, "run_id": inserted[0].id})
        return inserted

    def idempotency_prune(self, now: datetime, limit: int = 1000) -> int:
        with self._write() as conn:
            return conn.execute(
                K["idempotency_prune"], {"now": to_epoch(now), "limit": limit}
            ).rowcount


def _replay(conn: sqlite3.Connection, idem: IdempotencyKey) -> Inserted:
    row = conn.execute(K["idempotency_get"], {"key": idem.key}).fetchone()
    if row is None:  # pragma: no cover - the claim just saw it, in this transaction
        raise StorageUnavailable(f"idempotency key {idem.key!r} vanished; try again")
    if row[0] != idem.fingerprint:
        raise IdempotencyConflict(idem.key)
    if row[1] is None:
        raise StorageUnavailable(f"the launch with idempotency key {idem.key!r} is not finished")
    return Inserted(int(row[1]), False)
