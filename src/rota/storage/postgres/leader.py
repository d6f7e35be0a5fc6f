"""Leader leases on PostgreSQL: each verb is one autocommitted statement (no session state,
so it works behind PgBouncer in transaction mode)."""

from __future__ import annotations

from typing import Any

from rota.storage.leader_store import Leader, LeaderParams
from rota.storage.postgres.connection import PostgresBase
from rota.storage.sql import load_queries

L = load_queries("rota.storage.postgres", "leader.sql")


def _values(params: LeaderParams) -> dict[str, Any]:
    return {
        "name": params.name,
        "node_id": params.node_id,
        "now": params.now,
        "expires_at": params.expires_at,
        "dead_before": params.dead_before,
    }


class PostgresLeader(PostgresBase):
    def leader_acquire(self, params: LeaderParams) -> bool:
        return bool(self._all(L["leader_acquire"], _values(params)))

    def leader_renew(self, params: LeaderParams) -> bool:
        return bool(self._all(L["leader_renew"], _values(params)))

    def leader_resign(self, params: LeaderParams) -> bool:
        values = {"name": params.name, "node_id": params.node_id}
        return self._count(L["leader_resign"], values) == 1

    def leader_get(self, name: str) -> Leader | None:
        rows = self._all(L["leader_get"], {"name": name})
        if not rows:
            return None
        r = rows[0]
        return Leader(r["name"], r["node_id"], r["elected_at"], r["expires_at"])
