"""Leader leases on SQLite: each verb is one statement in an immediate transaction."""

from __future__ import annotations

from typing import Any

from rota.clock import from_epoch, to_epoch
from rota.storage.leader_store import Leader, LeaderParams
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase

L = load_queries("rota.storage.sqlite", "leader.sql")


def _values(params: LeaderParams) -> dict[str, Any]:
    return {
        "name": params.name,
        "node_id": params.node_id,
        "now": to_epoch(params.now),
        "expires_at": to_epoch(params.expires_at),
        "dead_before": None if params.dead_before is None else to_epoch(params.dead_before),
    }


class SQLiteLeader(SQLiteBase):
    def leader_acquire(self, params: LeaderParams) -> bool:
        with self._write() as conn:
            return bool(conn.execute(L["leader_acquire"], _values(params)).fetchall())

    def leader_renew(self, params: LeaderParams) -> bool:
        with self._write() as conn:
            return bool(conn.execute(L["leader_renew"], _values(params)).fetchall())

    def leader_resign(self, params: LeaderParams) -> bool:
        with self._write() as conn:
            values = {"name": params.name, "node_id": params.node_id}
            return conn.execute(L["leader_resign"], values).rowcount == 1

    def leader_get(self, name: str) -> Leader | None:
        rows = self._read(L["leader_get"], {"name": name})
        if not rows:
            return None
        r = rows[0]
        return Leader(
            r["name"], r["node_id"], from_epoch(r["elected_at"]), from_epoch(r["expires_at"])
        )
