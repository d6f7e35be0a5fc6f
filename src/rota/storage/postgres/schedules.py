"""Schedules on PostgreSQL: compare-and-set of next fire times, and the fire history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import FireParams, InsertParams
from rota.storage.postgres.connection import PostgresBase
from rota.storage.rows import dumps
from rota.storage.sql import load_queries

S = load_queries("rota.storage.postgres", "schedules.sql")


def schedule_from_row(row: dict[str, Any]) -> Schedule:
    return Schedule(
        name=row["name"],
        job=row["job"],
        kwargs=row["kwargs"],
        trigger=row["trigger_json"],
        trigger_key=row["trigger_key"],
        misfire=row["misfire"],
        misfire_grace=float(row["misfire_grace"]),
        overlap=bool(row["overlap"]),
        paused=bool(row["paused"]),
        source=row["source"],
        options=row["options"],
        next_fire_at=row["next_fire_at"],
        last_fire_at=row["last_fire_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PostgresSchedules(PostgresBase):
    def schedules_upsert(self, schedule: Schedule) -> None:
        self._count(
            S["schedules_upsert"],
            {
                "name": schedule.name,
                "job": schedule.job,
                "kwargs": dumps(schedule.kwargs),
                "trigger_json": dumps(schedule.trigger),
                "trigger_key": schedule.trigger_key,
                "misfire": schedule.misfire,
                "misfire_grace": schedule.misfire_grace,
                "overlap": schedule.overlap,
                "paused": schedule.paused,
                "source": schedule.source,
                "options": dumps(schedule.options),
                "next_fire_at": schedule.next_fire_at,
                "now": schedule.updated_at,
            },
        )

    def schedules_list(self) -> list[Schedule]:
        return [schedule_from_row(r) for r in self._all(S["schedules_list"], {})]

    def schedule_get(self, name: str) -> Schedule | None:
        rows = self._all(S["schedule_get"], {"name": name})
        return schedule_from_row(rows[0]) if rows else None

    def schedules_due(self, now: datetime, limit: int) -> list[Schedule]:
        rows = self._all(S["schedules_due"], {"now": now, "limit": limit})
        return [schedule_from_row(r) for r in rows]

    def schedules_next_fire(self) -> datetime | None:
        rows = self._all(S["schedules_next_fire"], {})
        value = rows[0]["min"] if rows else None
        return value if isinstance(value, datetime) else None

    def schedule_fire(self, params: FireParams) -> list[int] | None:
        cas = {
            "name": params.name,
            "expected_next": params.expected_next,
            "new_next": params.new_next,
            "now": params.now,
        }
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            if cur.execute(S["schedule_cas"], cas).rowcount != 1:
                return None  # another scheduler handled these fire times
            for record in params.records:
                cur.execute(S["schedule_fire_record"], self._record(record, params))
            created: list[int] = []
            for fire_time, run in params.runs:
                values = self._record(FireRecord(params.name, fire_time, "fired"), params)
                if cur.execute(S["schedule_fire_record"], values).rowcount != 1:
                    continue  # this fire time already has its run
                [inserted] = self.insert_runs(cur, InsertParams([run], params.now))
                cur.execute(
                    S["schedule_fire_link"],
                    {"run_id": inserted.id, "schedule": params.name, "fire_time": fire_time},
                )
                created.append(inserted.id)
        return created

    @staticmethod
    def _record(record: FireRecord, params: FireParams) -> dict[str, Any]:
        return {
            "schedule": record.schedule,
            "fire_time": record.fire_time,
            "outcome": record.outcome,
            "run_id": record.run_id,
            "node_id": params.node_id,
            "fired_at": params.now,
        }

    def schedule_set_paused(
        self, name: str, paused: bool, next_fire_at: datetime | None, now: datetime
    ) -> bool:
        values = {"name": name, "paused": paused, "next_fire_at": next_fire_at, "now": now}
        return self._count(S["schedule_set_paused"], values) == 1

    def schedules_delete(self, names: Sequence[str]) -> int:
        return self._count(S["schedules_delete"], {"names": list(names)})

    def schedule_fires(self, name: str, limit: int) -> list[FireRecord]:
        rows = self._all(S["schedule_fires"], {"name": name, "limit": limit})
        return [
            FireRecord(
                r["schedule"],
                r["fire_time"],
                r["outcome"],
                r["run_id"],
                r["node_id"],
                r["fired_at"],
            )
            for r in rows
        ]

    def schedule_active_runs(self, name: str) -> int:
        rows = self._all(S["schedule_active_runs"], {"name": name})
        return int(rows[0]["count"])
