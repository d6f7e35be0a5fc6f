"""A broken stored schedule is skipped and logged; the other schedules keep firing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import rota
from rota.scheduling.scheduler import Scheduler, SchedulerConfig


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t


def test_a_broken_schedule_does_not_block_the_others(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    app = rota.App(database=database_url, clock=clock)

    @app.job
    def tick() -> None:
        return None

    app.add_schedule("good", tick, every=1)
    app.add_schedule("broken", tick, every=1)
    broken = app.schedules.get("broken")
    app.store.schedules_upsert(
        replace(
            broken,
            trigger={"kind": "cron", "cron": "not a cron", "timezone": "UTC"},
            trigger_key="corrupted",
            updated_at=clock.now(),
        )
    )
    scheduler = Scheduler(app.store, app.jobs, SchedulerConfig("n1"), clock)
    try:
        fired = 0
        for _ in range(3):
            clock.t += timedelta(seconds=1)
            fired += scheduler.run_once()
        runs = app.runs.list(limit=100)
        assert fired == 3
        assert {r.schedule for r in runs} == {"good"}
        assert "schedule broken cannot fire" in caplog.text
        assert caplog.text.count("schedule broken cannot fire") == 1  # logged once, not per pass
    finally:
        app.close()


def test_a_one_date_schedule_in_the_past_is_refused(database_url: str) -> None:
    clock = FixedClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    app = rota.App(database=database_url, clock=clock)

    @app.job
    def once() -> None:
        return None

    with pytest.raises(rota.InvalidArguments, match="never fire"):
        app.add_schedule("late", once, at=clock.t - timedelta(seconds=1))
    assert app.schedules.list() == []
    app.add_schedule("soon", once, at=clock.t + timedelta(minutes=1))
    assert [s.name for s in app.schedules.list()] == ["soon"]
    app.close()
