"""Graceful stop on SIGTERM: running runs finish within shutdown_timeout, the rest go back."""

from __future__ import annotations

import signal
import time

import pytest

import rota
from tests.integration.procs import Marks, Procs, wait_terminal
from tests.support import wait_until


def test_sigterm_lets_the_running_run_finish_and_claims_nothing_more(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn(concurrency=1, shutdown_timeout=15)
    running = app.enqueue("slow", {"seconds": 2.0})
    assert wait_until(lambda: marks.pid("slow", running.id, 1), 20, "the run to start")
    waiting = app.enqueue("slow", {"seconds": 0.0})  # its slot frees only when the first ends

    worker.send(signal.SIGTERM)
    assert worker.wait_exit(20) == 0

    run = app.runs.get(running.id)  # already recorded when the process is gone
    assert run.state == "succeeded"
    assert run.result == "slept"
    assert (run.attempt, run.errors) == (1, [])
    assert marks.pid("slow", running.id, 1, "done") == worker.pid
    left = app.runs.get(waiting.id)
    assert (left.state, left.attempt, left.started_at) == ("queued", 0, None)
    assert "received SIGTERM: stopping gracefully" in worker.log()


@pytest.mark.parametrize("job", ["hang_first", "hang_first_async"])
def test_sigterm_past_shutdown_timeout_puts_the_run_back_to_queued(
    app: rota.App, procs: Procs, marks: Marks, job: str
) -> None:
    shutdown_timeout = 0.5
    worker = procs.spawn(shutdown_timeout=shutdown_timeout)
    handle = app.enqueue(job)  # blocks until released; the sync one ignores ctx.cancelled
    assert wait_until(lambda: marks.pid(job, handle.id, 1), 20, "the run to start")

    sent = time.monotonic()
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(15) == 0
    took = time.monotonic() - sent
    assert took < shutdown_timeout + 5, f"exit took {took:.1f}s"

    run = app.runs.get(handle.id)
    assert run.state == "queued"
    assert run.attempt == 0, "a run handed back by a graceful stop is not a failed attempt"
    assert (run.errors, run.started_at, run.result) == ([], None, None)
    assert marks.pid(job, handle.id, 1, "done") is None
    assert "handing 1 unfinished run(s) back to the queue" in worker.log()

    marks.release()
    again = procs.spawn()
    run = wait_terminal(app, handle.id, 20)
    assert run.state == "succeeded"
    assert run.result == {"attempt": 1, "pid": again.pid}  # the same, first, attempt
    assert run.errors == []


def test_a_job_hands_its_run_back_at_shutdown_without_waiting(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn(shutdown_timeout=60)
    handle = app.enqueue("hand_back")
    assert wait_until(lambda: marks.pid("hand_back", handle.id, 1), 20, "the run to start")
    sent = time.monotonic()
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(30) == 0
    assert time.monotonic() - sent < 15, "the 60 s shutdown timeout was not needed"
    run = app.runs.get(handle.id)
    assert (run.state, run.attempt, run.errors) == ("queued", 0, [])
    marks.release()
    procs.spawn()
    done = wait_terminal(app, handle.id, 20)
    assert (done.state, done.result, done.attempt) == ("succeeded", "resumed", 1)
