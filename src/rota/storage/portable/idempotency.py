"""Idempotency keys: the key and its run are written in one transaction (both backends).

The key is claimed first: in PostgreSQL a concurrent launch with the same key waits on the
key's unique index until the first one commits, then finds its run; in SQLite the immediate
transaction serialises them.
"""

from __future__ import annotations

from datetime import datetime

from rota.errors import IdempotencyConflict, StorageUnavailable
from rota.storage.base import IdempotencyKey, Inserted, InsertParams
from rota.storage.dialect import SqlBackend, Tx


class PortableIdempotency(SqlBackend):
    """``IdempotencyStore``, and the launch of a run under a key, over ``idempotency.sql``."""

    def idempotent_insert(self, tx: Tx, params: InsertParams) -> list[Inserted]:
        """Claim the key, then insert the run and link it; a live key returns its run."""
        d = self.dialect
        q = d.queries("idempotency.sql")
        idem = params.idempotency
        assert idem is not None
        claim = {
            "key": idem.key,
            "fingerprint": idem.fingerprint,
            "now": d.time(params.now),
            "expires_at": d.time(idem.expires_at),
        }
        if not tx.rows(q["idempotency_claim"], claim):
            return [self._replay(tx, idem)]
        inserted = self.insert_in(tx, params)
        tx.count(q["idempotency_link"], {"key": idem.key, "run_id": inserted[0].id})
        return inserted

    def _replay(self, tx: Tx, idem: IdempotencyKey) -> Inserted:
        row = tx.one(self.dialect.queries("idempotency.sql")["idempotency_get"], {"key": idem.key})
        if row is None:  # pragma: no cover - the claim just saw it, in this transaction
            raise StorageUnavailable(f"idempotency key {idem.key!r} vanished; try again")
        if row["fingerprint"] != idem.fingerprint:
            raise IdempotencyConflict(idem.key)
        if row["run_id"] is None:
            raise StorageUnavailable(
                f"the launch with idempotency key {idem.key!r} is not finished"
            )
        return Inserted(int(row["run_id"]), False)

    def idempotency_prune(self, now: datetime, limit: int = 1000) -> int:
        d = self.dialect
        q = d.queries("idempotency.sql")["idempotency_prune"]
        return self.write(q, {"now": d.time(now), "limit": limit})
