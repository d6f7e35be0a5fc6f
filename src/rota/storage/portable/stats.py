"""Aggregate counts for metrics, each one GROUP BY answered from an index (both backends)."""

from __future__ import annotations

from rota.runs import RunState
from rota.storage.base import FireCount, RunCount
from rota.storage.dialect import SqlBackend


class PortableStats(SqlBackend):
    """``StatsStore`` over the backend's ``stats.sql``."""

    def runs_count_by_state_queue(self) -> list[RunCount]:
        rows = self.fetch(self.dialect.queries("stats.sql")["runs_count_by_state_queue"])
        return [RunCount(RunState(r["state"]), r["queue"], int(r["n"])) for r in rows]

    def schedule_fire_counts(self) -> list[FireCount]:
        rows = self.fetch(self.dialect.queries("stats.sql")["schedule_fire_counts"])
        return [FireCount(r["schedule"], r["outcome"], int(r["n"])) for r in rows]
