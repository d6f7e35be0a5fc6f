"""Schedule definitions as users give them, turned into stored Schedule rows (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rota.scheduling.misfire import Misfire
from rota.scheduling.model import Schedule
from rota.scheduling.triggers import InvalidTrigger, Trigger, make_trigger, next_fire


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as declared (``@app.periodic``) or added (``app.add_schedule``)."""

    name: str
    job: str
    cron: str | None = None
    every: float | timedelta | None = None
    at: datetime | None = None
    timezone: str = "UTC"
    kwargs: dict[str, Any] = field(default_factory=dict)
    misfire: str = Misfire.RUN_ONCE.value
    misfire_grace: float = 1.0
    overlap: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    source: str = "stored"

    def validate(self, now: datetime) -> Trigger:
        if not isinstance(self.name, str) or not self.name or len(self.name) > 200:
            raise InvalidTrigger(
                f"a schedule needs a name of 1 to 200 characters, got {self.name!r}"
            )
        try:
            Misfire(self.misfire)
        except ValueError:
            choices = ", ".join(m.value for m in Misfire)
            raise InvalidTrigger(
                f"misfire must be one of {choices}, got {self.misfire!r}"
            ) from None
        grace = self.misfire_grace
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace < 1e7:
            raise InvalidTrigger(f"misfire_grace must be seconds >= 0, got {grace!r}")
        if not isinstance(self.kwargs, dict):
            raise InvalidTrigger("kwargs must be a dict of the job's arguments")
        return make_trigger(
            cron=self.cron, every=self.every, at=self.at, timezone=self.timezone, now=now
        )

    def to_schedule(self, now: datetime) -> Schedule:
        trigger = self.validate(now)
        return Schedule(
            name=self.name,
            job=self.job,
            kwargs=dict(self.kwargs),
            trigger=trigger.to_json(),
            trigger_key=trigger_key(trigger),
            misfire=self.misfire,
            misfire_grace=float(self.misfire_grace),
            overlap=bool(self.overlap),
            paused=False,
            source=self.source,
            options=dict(self.options),
            next_fire_at=next_fire(trigger, now),
            created_at=now,
            updated_at=now,
        )


def trigger_key(trigger: Trigger) -> str:
    """The trigger's identity, leaving out the anchor that ``every`` takes from its start."""
    at = trigger.at.isoformat() if trigger.at else ""
    return f"{trigger.kind}|{trigger.cron or ''}|{trigger.every or ''}|{at}|{trigger.timezone}"


def schedule_json(s: Schedule) -> dict[str, Any]:
    """A schedule as the CLI's ``--json`` and the REST API show it."""
    trigger = Trigger.from_json(s.trigger)

    def iso(d: datetime | None) -> str | None:
        return d.isoformat() if d else None

    return {
        "name": s.name,
        "job": s.job,
        "kwargs": s.kwargs,
        "trigger": trigger.describe(),
        "cron": trigger.cron,
        "every": trigger.every,
        "at": iso(trigger.at),
        "timezone": trigger.timezone,
        "misfire": s.misfire,
        "misfire_grace": s.misfire_grace,
        "overlap": s.overlap,
        "paused": s.paused,
        "source": s.source,
        "options": s.options,
        "next_fire_at": iso(s.next_fire_at),
        "last_fire_at": iso(s.last_fire_at),
    }


def fire_args(schedule: Schedule, fire_time: datetime) -> dict[str, Any]:
    """The arguments of a run for this fire time: the kwargs, plus the fire time (ISO 8601)
    under the schedule's ``fire_time_arg`` if it has one."""
    arg = schedule.options.get("fire_time_arg")
    if not isinstance(arg, str):
        return dict(schedule.kwargs)
    return {**schedule.kwargs, arg: fire_time.isoformat()}
