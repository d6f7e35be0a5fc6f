"""Schedule use cases: save, sync the declared ones, get, pause, resume, remove, trigger, fires.

Every launcher reaches them through ``app.schedules`` (``rota.usecases.schedules_facade``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rota.errors import InvalidArguments, ScheduleNotFound, UnknownJob
from rota.handle import RunHandle
from rota.jobs import JobSpec, LaunchOptions
from rota.scheduling.definitions import ScheduleSpec, fire_args
from rota.scheduling.model import FireRecord, Schedule
from rota.scheduling.triggers import Trigger, next_fire
from rota.storage.base import ScheduleStore, Store
from rota.usecases import Launch


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


def trigger(store: Store, name: str, now: datetime, launch: Launch) -> RunHandle:
    """One run of the schedule's job now, through the normal launch path; its handle."""
    s = get(store, name)
    options = LaunchOptions(
        schedule=s.name,
        queue=s.options.get("queue"),
        priority=s.options.get("priority"),
        max_attempts=s.options.get("max_attempts"),
    )
    return launch(s.job, [fire_args(s, now)], options)[0]
