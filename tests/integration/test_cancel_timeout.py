"""Cooperative cancellation of running runs, and per-run timeouts, in a real worker process."""

from __future__ import annotations

import pytest

import rota
from tests.integration.procs import Marks, Procs, wait_terminal
from tests.support import wait_until


@pytest.mark.parametrize(
    ("job", "how"),
    [
        ("cancellable_sync", "done"),  # the sync job saw ctx.cancelled and returned
        ("cancellable_async", "cancelled"),  # the async job's task was cancelled
    ],
)
def test_cancel_a_running_run(
    app: rota.App, procs: Procs, marks: Marks, job: str, how: str
) -> None:
    worker = procs.spawn(lease_seconds=2.0)
    handle = app.enqueue(job)
    assert wait_until(lambda: marks.pid(job, handle.id, 1), 20, "the run to start")

    assert app.runs.cancel(handle.id) == "running"  # requested; the run ends when its job does
    run = wait_terminal(app, handle.id, 10)
    assert run.state == "cancelled"
    assert run.attempt == 1
    assert run.finished_at is not None
    assert marks.pid(job, handle.id, 1, how) == worker.pid
    assert marks.pid(job, handle.id, 2) is None, "a cancelled run is not tried again"
    # the worker lives on and keeps working
    assert app.enqueue("work", {"n": 1}).result(timeout=10) == 1
    assert worker.alive()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_timeout_fails_the_attempt_then_retries_or_fails(
    app: rota.App, procs: Procs, marks: Marks, kind: str
) -> None:
    worker = procs.spawn()
    once = app.enqueue(f"timeout_first_{kind}")  # times out on attempt 1 only; 3 attempts
    always = app.enqueue(f"timeout_always_{kind}")  # times out every time; 2 attempts

    run = wait_terminal(app, once.id, 20)
    assert run.state == "succeeded"
    assert run.attempt == 2
    assert run.result == 2
    assert [e["type"] for e in run.errors] == ["JobTimeout"]
    assert "timed out after 0.5s" in run.errors[0]["message"]

    run = wait_terminal(app, always.id, 20)
    assert run.state == "failed"
    assert run.attempt == run.max_attempts == 2
    assert [(e["attempt"], e["type"]) for e in run.errors] == [(1, "JobTimeout"), (2, "JobTimeout")]
    assert marks.pid(f"timeout_always_{kind}", always.id, 3) is None
    assert worker.alive()
