"""Schedule use cases shared by every surface (Python API, CLI, REST): one path per verb."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rota.errors import InvalidArguments, ScheduleNotFound, UnknownJob
from rota.jobs import JobSpec
from rota.scheduling.definitions import ScheduleSpec
from rota.scheduling.model import FireRecord, Schedule
from rota.scheduling.triggers import Trigger, next_fire
from rota.storage.base import ScheduleStore


def get(store: ScheduleStore, name: str) -> Schedule:
    schedule = store.schedule_get(name)
    if schedule is None:
        raise ScheduleNotFound(name)
    return schedule


def save(
    store: ScheduleStore, jobs: Mapping[str, JobSpec], spec: ScheduleSpec, now: datetime
) -> Schedule:
    """Add or replace a schedule; its job and arguments are checked now, not at fire time."""
    job = jobs.get(spec.job)
    if job is None:
        raise UnknownJob(spec.job)
    arg = spec.options.get("fire_time_arg")
    if arg is not None and (not isinstance(arg, str) or arg in spec.kwargs):
        raise InvalidArguments(
            f"fire_time_arg must name a job parameter not in kwargs, got {arg!r}"
        )
    schedule = spec.to_schedule(now)
    job.validate(fire_args(schedule, now))
    if schedule.next_fire_at is None:
        raise InvalidArguments(f"schedule {spec.name!r} would never fire: its time is already past")
    store.schedules_upsert(schedule)
    return get(store, spec.name)


def sync_code_schedules(store: ScheduleStore, specs: Sequence[ScheduleSpec], now: datetime) -> None:
    """Store the schedules declared in code, and drop code schedules no longer declared."""
    for spec in specs:
        store.schedules_upsert(spec.to_schedule(now))
    declared = {s.name for s in specs}
    gone = [s.name for s in store.schedules_list() if s.source == "code" and s.name not in declared]
    if gone:
        store.schedules_delete(gone)


def pause(store: ScheduleStore, name: str, now: datetime) -> Schedule:
    schedule = get(store, name)
    store.schedule_set_paused(name, True, schedule.next_fire_at, now)
    return get(store, name)


def resume(store: ScheduleStore, name: str, now: datetime) -> Schedule:
    """Resume from now on: the fire times that passed while paused do not run."""
    schedule = get(store, name)
    upcoming = next_fire(Trigger.from_json(schedule.trigger), now)
    store.schedule_set_paused(name, False, upcoming, now)
    return get(store, name)


def remove(store: ScheduleStore, name: str) -> None:
    get(store, name)
    store.schedules_delete([name])


def upcoming(schedule: Schedule, count: int, now: datetime) -> list[datetime]:
    """The next ``count`` fire times from now on (none while paused)."""
    if schedule.paused:
        return []
    trigger = Trigger.from_json(schedule.trigger)
    out: list[datetime] = []
    t: datetime | None = schedule.next_fire_at
    if t is not None and t < now:
        out.append(t)  # due, about to fire
    t = next_fire(trigger, max(now, out[-1]) if out else now)
    while t is not None and len(out) < count:
        out.append(t)
        t = next_fire(trigger, t)
    return out


def fires(store: ScheduleStore, name: str, limit: int = 20) -> list[FireRecord]:
    get(store, name)
    return store.schedule_fires(name, limit)


def fire_args(schedule: Schedule, fire_time: datetime) -> dict[str, Any]:
    """The arguments of a run for this fire time: the kwargs, plus the fire time (ISO 8601)
    under the schedule's ``fire_time_arg`` if it has one."""
    arg = schedule.options.get("fire_time_arg")
    if not isinstance(arg, str):
        return dict(schedule.kwargs)
    return {**schedule.kwargs, arg: fire_time.isoformat()}
