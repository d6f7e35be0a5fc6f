"""``raise rota.Snooze(after=...)`` in a real worker process: not now, without using an attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import rota
from rota import batch
from tests.integration.procs import Marks, Procs, read_run, wait_terminal
from tests.support import wait_until


def ran(marks: Marks, run_id: int) -> list[int]:
    """The ``ctx.attempt`` of each execution of the run, in order."""
    return [a for kind, run, a, _pid in marks.effects() if kind == "ran" and run == run_id]


@pytest.mark.parametrize("job", ["snooze_twice_then_fail", "snooze_twice_then_fail_async"])
def test_snoozes_use_no_attempt_and_leave_no_entry(
    app: rota.App, procs: Procs, marks: Marks, job: str
) -> None:
    worker = procs.spawn()
    handle = app.enqueue(job)

    run = wait_terminal(app, handle.id, 30)

    assert run.state == "failed"
    assert run.attempt == run.max_attempts == 3
    assert [(e["attempt"], e["type"]) for e in run.errors] == [
        (1, "ValueError"),
        (2, "ValueError"),
        (3, "ValueError"),
    ]
    # two snoozes, then three failed attempts: the snoozed executions kept attempt 1
    assert ran(marks, handle.id) == [1, 1, 1, 2, 3]
    assert worker.alive()


def test_a_snoozed_run_waits_scheduled_for_its_time_with_its_attempt_unchanged(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn()
    before = datetime.now(UTC)
    handle = app.enqueue("snooze_once", {"seconds": 3600})

    def snoozed() -> rota.Run | None:
        run = read_run(app, handle.id)
        return (
            run if run is not None and ran(marks, handle.id) and run.state == "scheduled" else None
        )

    run = wait_until(snoozed, 20, "the run to snooze")
    after = datetime.now(UTC)

    assert run.attempt == 0  # as before its claim: the snoozed attempt was not used
    assert run.errors == [] and run.finished_at is None and run.result is None
    hour = timedelta(hours=1)
    assert before + hour <= run.run_at <= after + hour
    line = worker.wait_for(
        lambda: next((x for x in worker.log().splitlines() if f"run {handle.id} snoozed" in x), ""),
        10,
        "the snooze's log line",
    )
    assert "job snooze_once, attempt 1, " in line and "(not counted), next attempt at " in line
    logged = datetime.fromisoformat(line.rsplit("next attempt at ", 1)[1].strip())
    assert abs(logged - run.run_at) < timedelta(milliseconds=1)
    assert ran(marks, handle.id) == [1]  # not run again before its time


def test_a_snoozed_run_runs_again_once_due(app: rota.App, procs: Procs, marks: Marks) -> None:
    procs.spawn()
    launched = datetime.now(UTC)
    handle = app.enqueue("snooze_once", {"seconds": 1.0})

    run = wait_terminal(app, handle.id, 20)

    assert run.state == "succeeded" and run.result == 2
    assert run.attempt == 1 and run.errors == []
    assert run.run_at >= launched + timedelta(seconds=1.0)  # the snooze's time
    assert run.started_at is not None and run.started_at >= run.run_at
    assert ran(marks, handle.id) == [1, 1]


@pytest.mark.parametrize(
    ("job", "release"),
    [
        ("snooze_when_released", True),  # snoozes after the request, unaware of it
        ("snooze_when_cancelled_async", False),  # snoozes because its task was cancelled
    ],
)
def test_a_cancel_requested_during_the_attempt_wins_over_the_snooze(
    app: rota.App, procs: Procs, marks: Marks, job: str, release: bool
) -> None:
    worker = procs.spawn()
    handle = app.enqueue(job)
    assert wait_until(lambda: marks.pid(job, handle.id, 1), 20, "the run to start")

    assert app.runs.cancel(handle.id) == "running"
    if release:
        marks.release()
    run = wait_terminal(app, handle.id, 20)

    assert run.state == "cancelled"
    assert run.attempt == 1  # the attempt ran: it counts
    assert run.errors == []  # neither the snooze nor the cancel is an error
    assert worker.alive()


@pytest.mark.parametrize(
    ("after", "shown"),
    [(-5.0, "got -5.0"), (1e12, "got 1000000000000.0")],
    ids=["negative", "huge"],
)
def test_a_bad_wait_fails_the_attempt_with_a_clear_error(
    app: rota.App, procs: Procs, marks: Marks, after: float, shown: str
) -> None:
    procs.spawn()
    handle = app.enqueue("snooze_bad", {"after": after})

    run = wait_terminal(app, handle.id, 20)

    assert run.state == "failed" and run.attempt == 1
    [entry] = run.errors
    assert entry["type"] == "InvalidInput"
    assert (
        "rota.Snooze(after=...) must be from 0 to 315360000 seconds (10 years)" in entry["message"]
    )
    assert shown in entry["message"]
    assert ran(marks, handle.id) == [1]


def test_a_batch_step_cannot_snooze_its_step_fails_saying_so(database_url: str) -> None:
    app = rota.App(database=database_url, name="snooze-batch")

    def nap(ctx: batch.StepContext) -> None:
        raise rota.Snooze(after=60)

    @app.batch
    def napper() -> batch.Flow:
        return batch.Flow([batch.tasklet("nap", nap)])

    try:
        handle = app.enqueue("napper", {})
        app.drain()
        run = app.runs.get(handle.id)
        [execution] = app.batches.list()
    finally:
        app.close()

    assert run.state == "failed" and run.attempt == 1
    assert execution.state == "failed"
    [step] = execution.steps
    assert (
        step.error
        == "Snooze: a batch step cannot snooze (snoozed for 60s); the step failed instead"
    )
    assert "a batch step cannot snooze" in run.errors[-1]["message"]
