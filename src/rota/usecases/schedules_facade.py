"""``app.schedules``: the schedule use cases bound to an app's store, clock and jobs."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from rota.clock import Clock
from rota.handle import RunHandle
from rota.jobs import Job, JobSpec
from rota.scheduling.definitions import ScheduleSpec
from rota.scheduling.model import FireRecord, Schedule
from rota.storage.base import Store
from rota.usecases import Launch, schedules


class Schedules:
    """Schedules of an app: the stored ones, and those declared in code with ``@app.periodic``.

    ``wake`` tells this process's schedulers that a schedule changed, so that they do not
    sleep past its next fire time.
    """

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        jobs: Mapping[str, JobSpec],
        launch: Launch,
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._jobs = jobs
        self._launch = launch
        self._wake = wake
        self._declared: dict[str, ScheduleSpec] = {}

    def add(
        self,
        name: str,
        job: Job | str,
        cron: str | None = None,
        every: float | timedelta | None = None,
        at: datetime | None = None,
        kwargs: Mapping[str, Any] | None = None,
        timezone: str = "UTC",
        misfire: str = "run_once",
        *,
        misfire_grace: float = 1.0,
        overlap: bool = True,
        queue: str | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        fire_time_arg: str | None = None,
    ) -> Schedule:
        """Add or replace a stored schedule (``app.add_schedule``); it survives restarts."""
        chosen = (
            ("queue", queue),
            ("priority", priority),
            ("max_attempts", max_attempts),
            ("fire_time_arg", fire_time_arg),
        )
        spec = ScheduleSpec(
            name=name,
            job=job if isinstance(job, str) else job.name,
            cron=cron,
            every=every,
            at=at,
            timezone=timezone,
            kwargs=dict(kwargs or {}),
            misfire=misfire,
            misfire_grace=misfire_grace,
            overlap=overlap,
            options={k: v for k, v in chosen if v is not None},
        )
        saved = schedules.save(self._store(), self._jobs, spec, self._clock.now())
        self._wake()
        return saved

    def declare(self, job: JobSpec, *, name: str, **trigger: Any) -> None:
        """Keep a schedule of a parameterless ``job`` declared in code (``@app.periodic``).

        Its trigger is checked now (a bad cron fails at import, not at fire time); it is
        stored when a scheduler starts (``sync``).
        """
        spec = ScheduleSpec(name=name, job=job.name, source="code", **trigger)
        spec.validate(self._clock.now())
        job.validate({})  # periodic jobs take no arguments
        self._declared[spec.name] = spec

    def declared(self) -> builtins.list[ScheduleSpec]:
        """The schedules declared with ``@app.periodic``, stored or not."""
        return builtins.list(self._declared.values())

    def sync(self) -> None:
        """Store the declared schedules and drop stored code schedules no longer declared."""
        schedules.sync_code_schedules(self._store(), self.declared(), self._clock.now())

    def list(self) -> builtins.list[Schedule]:
        """The stored schedules, by name."""
        return self._store().schedules_list()

    def get(self, name: str) -> Schedule:
        return schedules.get(self._store(), name)

    def pause(self, name: str) -> Schedule:
        return schedules.pause(self._store(), name, self._clock.now())

    def resume(self, name: str) -> Schedule:
        """Resume from now on: the fire times that passed while paused do not run."""
        resumed = schedules.resume(self._store(), name, self._clock.now())
        self._wake()
        return resumed

    def remove(self, name: str) -> None:
        schedules.remove(self._store(), name)

    def trigger(self, name: str) -> RunHandle:
        """One run of the schedule's job now; the schedule itself is unchanged."""
        return schedules.trigger(self._store(), name, self._clock.now(), self._launch)

    def fires(self, name: str, limit: int = 20) -> builtins.list[FireRecord]:
        """The schedule's last fires, newest first."""
        return schedules.fires(self._store(), name, limit)

    def upcoming(self, name: str, count: int = 5) -> builtins.list[datetime]:
        """The next ``count`` fire times (none while paused)."""
        now = self._clock.now()
        return schedules.upcoming(schedules.get(self._store(), name), count, now)
