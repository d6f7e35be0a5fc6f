"""Stored schedules and their fire history: plain records, no I/O.

The scheduler, the use cases, the launchers and the stores all speak these; they live beside
the trigger maths rather than in the storage seam so that reading a schedule needs no store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

JSON = Any


@dataclass(frozen=True, slots=True)
class Schedule:
    """A stored trigger that launches a job; ``trigger`` is the trigger's JSON form."""

    name: str
    job: str
    kwargs: dict[str, JSON]
    trigger: dict[str, JSON]
    trigger_key: str
    """The trigger's identity without its anchor: a changed definition resets next_fire_at."""
    misfire: str
    misfire_grace: float
    overlap: bool
    paused: bool
    source: str  # "code" (declared with @app.periodic) or "stored" (add_schedule)
    options: dict[str, JSON]  # launch options: queue, priority, max_attempts
    next_fire_at: datetime | None
    last_fire_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class FireRecord:
    """One line of a schedule's fire history."""

    schedule: str
    fire_time: datetime
    outcome: str  # fired, missed, skipped, overlap, triggered
    run_id: int | None = None
    node_id: str | None = None
    fired_at: datetime | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "schedule": self.schedule,
            "fire_time": self.fire_time.isoformat(),
            "outcome": self.outcome,
            "run_id": self.run_id,
            "node": self.node_id,
            "fired_at": self.fired_at.isoformat() if self.fired_at else None,
        }
