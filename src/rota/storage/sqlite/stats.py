"""Aggregate counts for metrics on SQLite, each one GROUP BY over a covering index."""

from __future__ import annotations

from rota.runs import RunState
from rota.storage.base import FireCount, RunCount
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase

T = load_queries("rota.storage.sqlite", "stats.sql")


class SQLiteStats(SQLiteBase):
    def runs_count_by_state_queue(self) -> list[RunCount]:
        rows = self._read(T["runs_count_by_state_queue"])
        return [RunCount(RunState(r["state"]), r["queue"], int(r["n"])) for r in rows]

    def schedule_fire_counts(self) -> list[FireCount]:
        rows = self._read(T["schedule_fire_counts"])
        return [FireCount(r["schedule"], r["outcome"], int(r["n"])) for r in rows]
