"""The store as the bench's scheduler sees it: one schedule only, the bench's own.

rota's ``Scheduler`` fires every due schedule it is shown. Run on a user's database, it must
neither fire the user's schedules (it does not know their jobs: it would record their fires
as refused) nor wait on them, so this view shows it the named schedule alone; everything
else passes through to the real store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import FireParams, ScheduleStore


class OnlySchedule:
    def __init__(self, store: ScheduleStore, name: str) -> None:
        self.store, self.name = store, name

    def _mine(self) -> Schedule | None:
        schedule = self.store.schedule_get(self.name)
        return None if schedule is None or schedule.paused else schedule

    def schedules_due(self, now: datetime, limit: int) -> list[Schedule]:
        mine = self._mine()
        due = mine is not None and mine.next_fire_at is not None and mine.next_fire_at <= now
        return [mine] if due and mine is not None and limit > 0 else []

    def schedules_next_fire(self) -> datetime | None:
        mine = self._mine()
        return None if mine is None else mine.next_fire_at

    def schedules_list(self) -> list[Schedule]:
        mine = self.store.schedule_get(self.name)
        return [] if mine is None else [mine]

    def schedule_get(self, name: str) -> Schedule | None:
        return self.store.schedule_get(name) if name == self.name else None

    def schedules_upsert(self, schedule: Schedule) -> None:
        self.store.schedules_upsert(schedule)

    def schedule_fire(self, params: FireParams) -> list[int] | None:
        return self.store.schedule_fire(params)

    def schedule_set_paused(
        self, name: str, paused: bool, next_fire_at: datetime | None, now: datetime
    ) -> bool:
        return self.store.schedule_set_paused(name, paused, next_fire_at, now)

    def schedules_delete(self, names: Sequence[str]) -> int:
        return self.store.schedules_delete(names)

    def schedule_fires(self, name: str, limit: int) -> list[FireRecord]:
        return self.store.schedule_fires(name, limit)

    def schedule_active_runs(self, name: str) -> int:
        return self.store.schedule_active_runs(name)
