"""The sweep of the rate-limit start log, written once over the dialect (limits.sql)."""

from __future__ import annotations

from datetime import datetime

from rota.storage.dialect import SqlBackend


class PortableRateStarts(SqlBackend):
    def rate_starts_prune(self, before: datetime, limit: int = 1000) -> int:
        d = self.dialect
        q = d.queries("limits.sql")["limits_prune_expired"]
        return self.write(q, {"before": d.time(before), "limit": limit})
