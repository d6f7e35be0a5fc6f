"""Schedules: compare-and-set of next fire times, and the fire history (both backends)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import FireParams, InsertParams, NewRun
from rota.storage.dialect import Dialect, Row, SqlBackend, Tx
from rota.storage.rows import dumps


def schedule_from_row(row: Row, d: Dialect) -> Schedule:
    return Schedule(
        name=row["name"],
        job=row["job"],
        kwargs=d.read_json(row["kwargs"]),
        trigger=d.read_json(row["trigger_json"]),
        trigger_key=row["trigger_key"],
        misfire=row["misfire"],
        misfire_grace=float(row["misfire_grace"]),
        overlap=bool(row["overlap"]),
        paused=bool(row["paused"]),
        source=row["source"],
        options=d.read_json(row["options"]),
        next_fire_at=d.read_time(row["next_fire_at"]),
        last_fire_at=d.read_time(row["last_fire_at"]),
        created_at=d.read_time(row["created_at"]),
        updated_at=d.read_time(row["updated_at"]),
    )


def fire_from_row(row: Row, d: Dialect) -> FireRecord:
    return FireRecord(
        schedule=row["schedule"],
        fire_time=d.read_time_not_null(row["fire_time"]),
        outcome=row["outcome"],
        run_id=None if row["run_id"] is None else int(row["run_id"]),
        node_id=row["node_id"],
        fired_at=d.read_time(row["fired_at"]),
    )


class PortableSchedules(SqlBackend):
    """``ScheduleStore`` over the backend's ``schedules.sql``."""

    def schedules_upsert(self, schedule: Schedule) -> None:
        d = self.dialect
        self.write(
            d.queries("schedules.sql")["schedules_upsert"],
            {
                "name": schedule.name,
                "job": schedule.job,
                "kwargs": dumps(schedule.kwargs),
                "trigger_json": dumps(schedule.trigger),
                "trigger_key": schedule.trigger_key,
                "misfire": schedule.misfire,
                "misfire_grace": schedule.misfire_grace,
                "overlap": d.flag(schedule.overlap),
                "paused": d.flag(schedule.paused),
                "source": schedule.source,
                "options": dumps(schedule.options),
                "next_fire_at": d.time(schedule.next_fire_at),
                "now": d.time(schedule.updated_at),
            },
        )

    def schedules_list(self) -> list[Schedule]:
        rows = self.fetch(self.dialect.queries("schedules.sql")["schedules_list"])
        return [schedule_from_row(r, self.dialect) for r in rows]

    def schedule_get(self, name: str) -> Schedule | None:
        rows = self.fetch(self.dialect.queries("schedules.sql")["schedule_get"], {"name": name})
        return schedule_from_row(rows[0], self.dialect) if rows else None

    def schedules_due(self, now: datetime, limit: int) -> list[Schedule]:
        d = self.dialect
        rows = self.fetch(
            d.queries("schedules.sql")["schedules_due"], {"now": d.time(now), "limit": limit}
        )
        return [schedule_from_row(r, d) for r in rows]

    def schedules_next_fire(self) -> datetime | None:
        rows = self.fetch(self.dialect.queries("schedules.sql")["schedules_next_fire"])
        return self.dialect.read_time(rows[0]["next_fire_at"]) if rows else None

    def schedule_fire(self, params: FireParams) -> list[int] | None:
        d = self.dialect
        q = d.queries("schedules.sql")
        cas = {
            "name": params.name,
            "expected_next": d.time(params.expected_next),
            "new_next": d.time(params.new_next),
            "now": d.time(params.now),
        }
        with self.transaction() as tx:
            if tx.count(q["schedule_cas"], cas) != 1:
                return None  # another scheduler handled these fire times
            for record in params.records:
                tx.count(q["schedule_fire_record"], self._fire_values(record, params))
            created: list[int] = []
            for fire_time, run in params.runs:
                run_id = self._fire_one(tx, params, fire_time, run)
                if run_id is not None:
                    created.append(run_id)
        return created

    def _fire_one(self, tx: Tx, params: FireParams, fire_time: datetime, run: NewRun) -> int | None:
        """The run of one fire time, or None when that fire time already has its run."""
        q = self.dialect.queries("schedules.sql")
        values = self._fire_values(FireRecord(params.name, fire_time, "fired"), params)
        if tx.count(q["schedule_fire_record"], values) != 1:
            return None
        [inserted] = self.insert_in(tx, InsertParams([run], params.now))
        link = {"run_id": inserted.id, "schedule": params.name, "fire_time": values["fire_time"]}
        tx.count(q["schedule_fire_link"], link)
        return inserted.id

    def _fire_values(self, record: FireRecord, params: FireParams) -> dict[str, Any]:
        d = self.dialect
        return {
            "schedule": record.schedule,
            "fire_time": d.time(record.fire_time),
            "outcome": record.outcome,
            "run_id": record.run_id,
            "node_id": params.node_id,
            "fired_at": d.time(params.now),
        }

    def schedule_set_paused(
        self, name: str, paused: bool, next_fire_at: datetime | None, now: datetime
    ) -> bool:
        d = self.dialect
        values = {
            "name": name,
            "paused": d.flag(paused),
            "next_fire_at": d.time(next_fire_at),
            "now": d.time(now),
        }
        return self.write(d.queries("schedules.sql")["schedule_set_paused"], values) == 1

    def schedules_delete(self, names: Sequence[str]) -> int:
        d = self.dialect
        return self.write(d.queries("schedules.sql")["schedules_delete"], {"names": d.array(names)})

    def schedule_fires(self, name: str, limit: int) -> list[FireRecord]:
        q = self.dialect.queries("schedules.sql")
        rows = self.fetch(q["schedule_fires"], {"name": name, "limit": limit})
        return [fire_from_row(r, self.dialect) for r in rows]

    def schedule_active_runs(self, name: str) -> int:
        q = self.dialect.queries("schedules.sql")
        return int(self.fetch(q["schedule_active_runs"], {"name": name})[0]["n"])
