"""The scheduler service: fires due schedules, exactly once per fire time, on any number of nodes.

Every node may run it. A fire is a compare-and-set of the schedule's next fire time in the
same transaction as the runs it creates, and each fire time is a primary key in the fire
history, so two schedulers never create two runs for one fire time. The loop sleeps until the
next fire time (not a coarse poll), and at most ``max_sleep`` to notice other nodes' changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rota.clock import Clock, SystemClock
from rota.errors import BatchConflict, LaunchError, StorageUnavailable
from rota.jobs import JobSpec, LaunchOptions
from rota.launch import build_runs
from rota.scheduling.definitions import fire_args
from rota.scheduling.misfire import Misfire, decide
from rota.scheduling.model import FireRecord, Schedule
from rota.scheduling.triggers import Trigger
from rota.service import Loop
from rota.storage.base import FireParams, NewRun, ScheduleStore

log = logging.getLogger("rota.scheduler")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    node_id: str
    max_sleep: float = 1.0
    batch: int = 100


class Scheduler:
    def __init__(
        self,
        store: ScheduleStore,
        jobs: Mapping[str, JobSpec],
        config: SchedulerConfig,
        clock: Clock | None = None,
        on_fire: Callable[[], None] | None = None,
    ) -> None:
        self.store, self.jobs, self.config = store, jobs, config
        self.clock = clock or SystemClock()
        self.on_fire = on_fire
        self._unknown_jobs: set[str] = set()
        self._broken: dict[str, datetime | None] = {}  # name -> updated_at when it failed
        self._loop = Loop("scheduler", self._step, log)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def wake(self) -> None:
        """Look again now (a schedule was added, resumed or changed)."""
        self._loop.wake()

    def _step(self) -> float:
        self.run_once()
        return self._seconds_to_next()

    def _seconds_to_next(self) -> float:
        upcoming = self.store.schedules_next_fire()
        if upcoming is None:
            return self.config.max_sleep
        seconds = (upcoming - self.clock.now()).total_seconds()
        if seconds <= 0 and self._broken:  # the due one may be a broken one: do not spin
            return self.config.max_sleep
        return max(0.0, min(self.config.max_sleep, seconds))

    # -- firing ---------------------------------------------------------------------------
    def run_once(self) -> int:
        """Fire every due schedule; returns how many runs this node created."""
        created = 0
        while True:
            now = self.clock.now()
            due = self.store.schedules_due(now, self.config.batch)
            usable = [s for s in due if self._broken.get(s.name) != s.updated_at]
            for schedule in usable:
                created += self._fire_guarded(schedule, now)
            if len(due) < self.config.batch or not usable:
                break
        if created and self.on_fire is not None:
            self.on_fire()
        return created

    def _fire_guarded(self, schedule: Schedule, now: datetime) -> int:
        """One broken schedule (bad stored trigger, a bug) must not stop the others."""
        try:
            created = self.fire(schedule, now)
        except StorageUnavailable:
            raise
        except Exception:
            log.exception("schedule %s cannot fire; it is skipped until it changes", schedule.name)
            self._broken[schedule.name] = schedule.updated_at
            return 0
        self._broken.pop(schedule.name, None)
        return created

    def fire(self, schedule: Schedule, now: datetime) -> int:
        """Handle the due fire times of one schedule; 0 if another node did it first."""
        assert schedule.next_fire_at is not None
        trigger = Trigger.from_json(schedule.trigger)
        decision = decide(
            trigger,
            Misfire(schedule.misfire),
            schedule.next_fire_at,
            now,
            timedelta(seconds=schedule.misfire_grace),
        )
        outcome = "skipped" if schedule.misfire == Misfire.SKIP else "missed"
        records = [FireRecord(schedule.name, t, outcome) for t in decision.missed]
        times = decision.fire
        if times and not schedule.overlap:
            # One run at most: several times due at once (a catch-up) would run side by side.
            busy = self.store.schedule_active_runs(schedule.name) > 0
            records += [FireRecord(schedule.name, t, "overlap") for t in times[0 if busy else 1 :]]
            times = [] if busy else times[:1]
        runs = self._runs(schedule, times, now)
        if runs is None:  # the job is unknown here or its arguments no longer fit
            records += [FireRecord(schedule.name, t, "refused") for t in times]
            runs = []
        params = FireParams(
            name=schedule.name,
            expected_next=schedule.next_fire_at,
            new_next=decision.next_fire_at,
            runs=runs,
            records=records,
            node_id=self.config.node_id,
            now=now,
        )
        try:
            ids = self.store.schedule_fire(params)
        except BatchConflict as exc:
            # A batch instance that is running or completed: this fire creates no run, and
            # the schedule moves on (it would otherwise retry the same refusal forever).
            log.warning("schedule %s: its batch run was refused: %s", schedule.name, exc)
            refused = [FireRecord(schedule.name, t, "refused") for t, _ in runs]
            ids = self.store.schedule_fire(replace(params, runs=[], records=records + refused))
        if ids is None:
            return 0
        if decision.missed_count:
            log.warning(
                "schedule %s: %d fire time(s) missed (policy %s)",
                schedule.name,
                decision.missed_count,
                schedule.misfire,
            )
        return len(ids)

    def _runs(
        self, schedule: Schedule, times: list[datetime], now: datetime
    ) -> list[tuple[datetime, NewRun]] | None:
        if not times:
            return []
        spec = self.jobs.get(schedule.job)
        if spec is None:
            if schedule.job not in self._unknown_jobs:
                self._unknown_jobs.add(schedule.job)
                log.error("schedule %s: job %r is not defined here", schedule.name, schedule.job)
            return None
        opts = schedule.options
        try:
            return [
                (
                    t,
                    build_runs(
                        spec,
                        [fire_args(schedule, t)],
                        LaunchOptions(
                            run_at=t,
                            schedule=schedule.name,
                            queue=opts.get("queue"),
                            priority=opts.get("priority"),
                            max_attempts=opts.get("max_attempts"),
                        ),
                        now,
                    )[0],
                )
                for t in times
            ]
        except LaunchError as exc:
            log.error("schedule %s: its run was refused: %s", schedule.name, exc)
            return None
