"""The schedule half of App's API: ``@app.periodic``, ``add_schedule`` and friends."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rota.handle import RunHandle
from rota.jobs import Job, JobSpec, LaunchOptions
from rota.scheduling import service
from rota.scheduling.definitions import ScheduleSpec
from rota.scheduling.model import FireRecord, Schedule
from rota.scheduling.scheduler import Scheduler
from rota.storage.base import Store

F = Callable[..., Any]


class SchedulesMixin:
    """Schedules of an App; every verb calls the one use case in ``scheduling.service``."""

    _code_schedules: dict[str, ScheduleSpec]
    _schedulers: list[Scheduler]

    # provided by App
    _jobs: dict[str, JobSpec]

    @property
    def store(self) -> Store:
        raise NotImplementedError

    def now(self) -> datetime:
        raise NotImplementedError

    def _define_job(self, func: F, options: dict[str, Any]) -> Job:
        raise NotImplementedError

    def launch(
        self, job: str, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions
    ) -> list[RunHandle]:
        raise NotImplementedError

    def periodic(
        self,
        func: F | None = None,
        /,
        *,
        cron: str | None = None,
        every: float | timedelta | None = None,
        at: datetime | None = None,
        timezone: str = "UTC",
        name: str | None = None,
        misfire: str = "run_once",
        misfire_grace: float = 1.0,
        overlap: bool = True,
        **job_options: Any,
    ) -> Job | Callable[[F], Job]:
        """A parameterless job plus its schedule, stored when the scheduler starts."""

        def register(f: F) -> Job:
            job = self._define_job(f, job_options)
            spec = ScheduleSpec(
                name=name or job.name,
                job=job.name,
                cron=cron,
                every=every,
                at=at,
                timezone=timezone,
                misfire=misfire,
                misfire_grace=misfire_grace,
                overlap=overlap,
                source="code",
            )
            spec.validate(self.now())  # a bad cron fails at import, not at fire time
            job.spec.validate({})  # periodic jobs take no arguments
            self._code_schedules[spec.name] = spec
            return job

        return register(func) if func is not None else register

    def add_schedule(
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
        """Add or replace a stored schedule at run time (it survives restarts).

        ``fire_time_arg`` names a ``str`` parameter of the job that receives each run's fire
        time (ISO 8601): the period a run is for, and for a batch job a new instance per fire.
        """
        chosen = (
            ("queue", queue),
            ("priority", priority),
            ("max_attempts", max_attempts),
            ("fire_time_arg", fire_time_arg),
        )
        options = {k: v for k, v in chosen if v is not None}
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
            options=options,
        )
        saved = service.save(self.store, self._jobs, spec, self.now())
        self._wake_schedulers()
        return saved

    def schedules(self) -> list[Schedule]:
        return self.store.schedules_list()

    def get_schedule(self, name: str) -> Schedule:
        return service.get(self.store, name)

    def pause_schedule(self, name: str) -> Schedule:
        return service.pause(self.store, name, self.now())

    def resume_schedule(self, name: str) -> Schedule:
        resumed = service.resume(self.store, name, self.now())
        self._wake_schedulers()
        return resumed

    def remove_schedule(self, name: str) -> None:
        service.remove(self.store, name)

    def trigger_schedule(self, name: str) -> RunHandle:
        """One run of the schedule's job now, through the normal launch path."""
        s = service.get(self.store, name)
        args = service.fire_args(s, self.now())
        options = LaunchOptions(
            schedule=s.name,
            queue=s.options.get("queue"),
            priority=s.options.get("priority"),
            max_attempts=s.options.get("max_attempts"),
        )
        return self.launch(s.job, [args], options)[0]

    def schedule_fires(self, name: str, limit: int = 20) -> list[FireRecord]:
        return service.fires(self.store, name, limit)

    def upcoming_fires(self, name: str, count: int = 5) -> list[datetime]:
        return service.upcoming(service.get(self.store, name), count, self.now())

    def declared_schedules(self) -> list[ScheduleSpec]:
        """The schedules declared with ``@app.periodic`` (stored when a scheduler starts)."""
        return list(self._code_schedules.values())

    def sync_schedules(self) -> None:
        """Store the schedules declared with ``@app.periodic`` (done when a scheduler starts)."""
        service.sync_code_schedules(self.store, list(self._code_schedules.values()), self.now())

    def _wake_schedulers(self) -> None:
        for s in self._schedulers:
            s.wake()
