"""Aggregates for metrics and the dashboard, each answered from an index (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

from rota.runs import RunState
from rota.storage.base import FireCount, MinuteCount, QueueDue, RunCount
from rota.storage.dialect import SqlBackend


def _minute(number: int) -> datetime:
    """The start of a minute counted from the epoch (both backends count minutes so)."""
    return datetime.fromtimestamp(int(number) * 60, UTC)


class PortableStats(SqlBackend):
    """``StatsStore`` over the backend's ``stats.sql``."""

    def runs_count_by_state_queue(self) -> list[RunCount]:
        rows = self.fetch(self.dialect.queries("stats.sql")["runs_count_by_state_queue"])
        return [RunCount(RunState(r["state"]), r["queue"], int(r["n"])) for r in rows]

    def runs_count_by_state_queue_upto(self, cap: int) -> list[RunCount]:
        if cap < 1:
            raise ValueError(f"cap must be at least 1, got {cap}")
        states = self.dialect.array([s.value for s in RunState])  # SQLite walks them
        rows = self.fetch(
            self.dialect.queries("stats.sql")["runs_count_by_state_queue_upto"],
            {"states": states, "cap": cap},
        )
        return [RunCount(RunState(r["state"]), r["queue"], int(r["n"])) for r in rows]

    def runs_finished_per_minute(self, since: datetime, until: datetime) -> list[MinuteCount]:
        rows = self.fetch(
            self.dialect.queries("stats.sql")["runs_finished_per_minute"],
            {"since": self.dialect.time(since), "until": self.dialect.time(until)},
        )
        return [MinuteCount(_minute(r["minute"]), RunState(r["state"]), int(r["n"])) for r in rows]

    def runs_oldest_queued(self) -> list[QueueDue]:
        rows = self.fetch(self.dialect.queries("stats.sql")["runs_oldest_queued"])
        return [
            QueueDue(r["queue"], self.dialect.read_time_not_null(r["due"]))
            for r in rows
            if r["due"] is not None
        ]

    def runs_running_per_node(self) -> dict[str, int]:
        rows = self.fetch(self.dialect.queries("stats.sql")["runs_running_per_node"])
        return {r["node_id"]: int(r["n"]) for r in rows if r["node_id"] is not None}

    def schedule_fire_counts(self) -> list[FireCount]:
        rows = self.fetch(self.dialect.queries("stats.sql")["schedule_fire_counts"])
        return [FireCount(r["schedule"], r["outcome"], int(r["n"])) for r in rows]
