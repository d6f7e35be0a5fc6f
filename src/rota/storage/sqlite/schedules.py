"""Schedules on SQLite: compare-and-set of next fire times, and the fire history."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rota.clock import to_epoch
from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import FireParams, InsertParams
from rota.storage.rows import dumps, from_text
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase, ep, ts

S = load_queries("rota.storage.sqlite", "schedules.sql")


def schedule_from_row(row: sqlite3.Row) -> Schedule:
    return Schedule(
        name=row["name"],
        job=row["job"],
        kwargs=from_text(row["kwargs"]),
        trigger=from_text(row["trigger_json"]),
        trigger_key=row["trigger_key"],
        misfire=row["misfire"],
        misfire_grace=float(row["misfire_grace"]),
        overlap=bool(row["overlap"]),
        paused=bool(row["paused"]),
        source=row["source"],
        options=from_text(row["options"]),
        next_fire_at=ts(row["next_fire_at"]),
        last_fire_at=ts(row["last_fire_at"]),
        created_at=ts(row["created_at"]),
        updated_at=ts(row["updated_at"]),
    )


def _fire_from_row(row: sqlite3.Row) -> FireRecord:
    fire_time = ts(row["fire_time"])
    assert fire_time is not None
    return FireRecord(
        schedule=row["schedule"],
        fire_time=fire_time,
        outcome=row["outcome"],
        run_id=row["run_id"],
        node_id=row["node_id"],
        fired_at=ts(row["fired_at"]),
    )


class SQLiteSchedules(SQLiteBase):
    def schedules_upsert(self, schedule: Schedule) -> None:
        now = to_epoch(schedule.updated_at) if schedule.updated_at else None
        with self._write() as conn:
            conn.execute(
                S["schedules_upsert"],
                {
                    "name": schedule.name,
                    "job": schedule.job,
                    "kwargs": dumps(schedule.kwargs),
                    "trigger_json": dumps(schedule.trigger),
                    "trigger_key": schedule.trigger_key,
                    "misfire": schedule.misfire,
                    "misfire_grace": schedule.misfire_grace,
                    "overlap": int(schedule.overlap),
                    "paused": int(schedule.paused),
                    "source": schedule.source,
                    "options": dumps(schedule.options),
                    "next_fire_at": ep(schedule.next_fire_at),
                    "now": now,
                },
            )

    def schedules_list(self) -> list[Schedule]:
        return [schedule_from_row(r) for r in self._read(S["schedules_list"])]

    def schedule_get(self, name: str) -> Schedule | None:
        rows = self._read(S["schedule_get"], {"name": name})
        return schedule_from_row(rows[0]) if rows else None

    def schedules_due(self, now: datetime, limit: int) -> list[Schedule]:
        rows = self._read(S["schedules_due"], {"now": to_epoch(now), "limit": limit})
        return [schedule_from_row(r) for r in rows]

    def schedules_next_fire(self) -> datetime | None:
        rows = self._read(S["schedules_next_fire"])
        return ts(rows[0][0]) if rows else None

    def schedule_fire(self, params: FireParams) -> list[int] | None:
        now = to_epoch(params.now)
        with self._write() as conn:
            cas = {
                "name": params.name,
                "expected_next": to_epoch(params.expected_next),
                "new_next": ep(params.new_next),
                "now": now,
            }
            if conn.execute(S["schedule_cas"], cas).rowcount != 1:
                return None  # another scheduler handled these fire times
            for record in params.records:
                conn.execute(S["schedule_fire_record"], self._record(record, params, now))
            created: list[int] = []
            for fire_time, run in params.runs:
                record = FireRecord(params.name, fire_time, "fired")
                values = self._record(record, params, now)
                if conn.execute(S["schedule_fire_record"], values).rowcount != 1:
                    continue  # this fire time already has its run
                [inserted] = self.insert_runs(conn, InsertParams([run], params.now), now)
                conn.execute(
                    S["schedule_fire_link"],
                    {
                        "run_id": inserted.id,
                        "schedule": params.name,
                        "fire_time": values["fire_time"],
                    },
                )
                created.append(inserted.id)
        return created

    @staticmethod
    def _record(record: FireRecord, params: FireParams, now: float) -> dict[str, Any]:
        return {
            "schedule": record.schedule,
            "fire_time": to_epoch(record.fire_time),
            "outcome": record.outcome,
            "run_id": record.run_id,
            "node_id": params.node_id,
            "fired_at": now,
        }

    def schedule_set_paused(
        self, name: str, paused: bool, next_fire_at: datetime | None, now: datetime
    ) -> bool:
        values = {
            "name": name,
            "paused": int(paused),
            "next_fire_at": ep(next_fire_at),
            "now": to_epoch(now),
        }
        with self._write() as conn:
            return conn.execute(S["schedule_set_paused"], values).rowcount == 1

    def schedules_delete(self, names: Sequence[str]) -> int:
        with self._write() as conn:
            return conn.execute(S["schedules_delete"], {"names": dumps(list(names))}).rowcount

    def schedule_fires(self, name: str, limit: int) -> list[FireRecord]:
        rows = self._read(S["schedule_fires"], {"name": name, "limit": limit})
        return [_fire_from_row(r) for r in rows]

    def schedule_active_runs(self, name: str) -> int:
        return int(self._read(S["schedule_active_runs"], {"name": name})[0][0])
