"""Idempotency keys on PostgreSQL: the key and its run are written in one transaction.

The key is claimed first, so a concurrent launch with the same key waits on the key's unique
index until the first one commits, then finds its run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from rota.errors import IdempotencyConflict, StorageUnavailable
from rota.storage.base import IdempotencyKey, Inserted, InsertParams
from rota.storage.postgres.connection import PostgresBase
from rota.storage.sql import load_queries

K = load_queries("rota.storage.postgres", "idempotency.sql")


class PostgresIdempotency(PostgresBase):
    def insert_idempotent(self, cur: psycopg.Cursor[Any], params: InsertParams) -> list[Inserted]:
        """Claim the key, then insert the run and link it; a live key returns its run."""
        idem = params.idempotency
        assert idem is not None
        claim = {
            "key": idem.key,
            "fingerprint": idem.fingerprint,
            "now": params.now,
            "expires_at": idem.expires_at,
        }
        cur.execute(K["idempotency_claim"], claim)
        if not cur.fetchall():
            return [_replay(cur, idem)]
        inserted = self.insert_runs(cur, params)
        cur.execute(K["idempotency_link"], {"key": idem.key, "run_id": inserted[0].id})
        return inserted

    def idempotency_prune(self, now: datetime, limit: int = 1000) -> int:
        return self._count(K["idempotency_prune"], {"now": now, "limit": limit})


def _replay(cur: psycopg.Cursor[Any], idem: IdempotencyKey) -> Inserted:
    cur.execute(K["idempotency_get"], {"key": idem.key})
    row = cur.fetchone()
    if row is None:  # pragma: no cover - the claim just saw it, in this transaction
        raise StorageUnavailable(f"idempotency key {idem.key!r} vanished; try again")
    # rows of our pool are dicts, rows of a caller's connection tuples
    found, run_id = (row["fingerprint"], row["run_id"]) if isinstance(row, dict) else row[:2]
    if found != idem.fingerprint:
        raise IdempotencyConflict(idem.key)
    if run_id is None:
        raise StorageUnavailable(f"the launch with idempotency key {idem.key!r} is not finished")
    return Inserted(int(run_id), False)
