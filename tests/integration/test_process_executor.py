"""``executor="process"`` in real worker processes: each attempt in a child process, hard
timeouts that kill it, children that die without taking the worker down, progress and cancel
across the boundary, recycling, and a graceful stop, on both backends."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

import rota
from tests.integration.jobapp import build_app
from tests.integration.procs import Marks, Procs, wait_terminal
from tests.support import wait_until


def gone(pid: int) -> bool:
    """Whether no process has this pid any more (a zombie of ours counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_a_process_job_runs_in_a_child_and_returns_its_result(app: rota.App, procs: Procs) -> None:
    worker = procs.spawn()
    result = app.enqueue("proc_add", {"a": 2, "b": 3}).result(timeout=30)
    assert result["sum"] == 5
    assert result["pid"] != worker.pid
    # the child is reused for the next attempt
    assert app.enqueue("proc_add", {"a": 1, "b": 1}).result(timeout=30)["pid"] == result["pid"]


@pytest.mark.parametrize("job", ["proc_sleep", "proc_spin"])
def test_a_hard_timeout_kills_the_child(
    app: rota.App, procs: Procs, marks: Marks, job: str
) -> None:
    worker = procs.spawn()
    args = {"marks": str(marks.path)} | ({"seconds": 30.0} if job == "proc_sleep" else {})
    handle = app.enqueue(job, args)
    run = wait_terminal(app, handle.id, 30)
    first = marks.pid(job, handle.id, 1)
    assert first is not None and first != worker.pid
    assert "timed out after 0.5s (its process was killed)" in run.errors[0]["message"]
    assert run.errors[0]["type"] == "JobTimeout"
    if job == "proc_sleep":  # two attempts: the second does not sleep
        assert (run.state, run.result, run.attempt) == ("succeeded", "slept", 2)
        assert marks.pid(job, handle.id, 2) not in (None, first)
    else:  # one attempt
        assert (run.state, run.attempt, len(run.errors)) == ("failed", 1, 1)
    assert wait_until(lambda: gone(first), 10, "the timed-out child to be gone")
    assert marks.pid(job, handle.id, 1, "done") is None
    assert app.enqueue("proc_add", {"a": 1, "b": 2}).result(timeout=30)["sum"] == 3
    assert worker.alive()


@pytest.mark.parametrize("job", ["proc_exit", "proc_sigkill"])
def test_a_child_that_dies_fails_the_attempt_and_the_worker_goes_on(
    app: rota.App, procs: Procs, marks: Marks, job: str
) -> None:
    worker = procs.spawn()
    handle = app.enqueue(job, {"marks": str(marks.path)})
    other = app.enqueue("proc_add", {"a": 1, "b": 2})
    run = wait_terminal(app, handle.id, 30)
    assert (run.state, run.attempt) == ("failed", 2)
    assert [(e["attempt"], e["type"]) for e in run.errors] == [(1, "WorkerLost"), (2, "WorkerLost")]
    how = "exited with code 3" if job == "proc_exit" else "killed by SIGKILL"
    assert how in run.errors[0]["message"]
    assert other.result(timeout=30)["sum"] == 3
    assert app.enqueue("proc_add", {"a": 2, "b": 2}).result(timeout=30)["sum"] == 4
    assert worker.alive()


@pytest.mark.parametrize("job", ["proc_progress", "proc_progress_async"])
def test_progress_shows_while_it_runs_and_a_cancel_reaches_the_child(
    app: rota.App, procs: Procs, marks: Marks, job: str
) -> None:
    worker = procs.spawn()
    handle = app.enqueue(job, {"marks": str(marks.path)})
    assert wait_until(lambda: marks.pid(job, handle.id, 1), 30, "the run to start")
    run = wait_until(lambda: (r := app.runs.get(handle.id)).progress and r, 10, "progress")
    assert run.state == "running"
    assert run.progress == {"done": 3, "total": 10, "message": "three of ten"}

    assert app.runs.cancel(handle.id) == "running"
    run = wait_terminal(app, handle.id, 10)
    assert (run.state, run.attempt) == ("cancelled", 1)
    assert marks.pid(job, handle.id, 1, "cancelled") not in (None, worker.pid)
    assert worker.alive()


def test_a_cancelled_job_that_ignores_it_is_killed_at_its_timeout(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn()
    handle = app.enqueue("proc_deaf", {"marks": str(marks.path)})
    child = wait_until(lambda: marks.pid("proc_deaf", handle.id, 1), 30, "the run to start")
    assert app.runs.cancel(handle.id) == "running"
    run = wait_terminal(app, handle.id, 15)
    assert (run.state, [e["type"] for e in run.errors]) == ("cancelled", ["JobTimeout"])
    assert wait_until(lambda: gone(child), 10, "the deaf child to be killed")
    assert worker.alive()


def test_a_child_is_replaced_after_max_runs(app: rota.App, procs: Procs) -> None:
    procs.spawn(concurrency=1, app_options="processes=rota.ProcessLimits(max_runs=2)")
    pids = [app.enqueue("proc_pid").result(timeout=30) for _ in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4], pids
    assert gone(pids[0])


def test_a_child_past_its_memory_limit_is_replaced(app: rota.App, procs: Procs) -> None:
    procs.spawn(concurrency=1, app_options="processes=rota.ProcessLimits(max_rss=1)")
    pids = [app.enqueue("proc_pid").result(timeout=30) for _ in range(3)]
    assert len(set(pids)) == 3, pids


def test_sigterm_lets_a_process_job_finish_within_the_shutdown_timeout(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn(shutdown_timeout=15)
    handle = app.enqueue("proc_progress", {"marks": str(marks.path)})
    assert wait_until(lambda: marks.pid("proc_progress", handle.id, 1), 30, "the run to start")
    worker.send(signal.SIGTERM)
    worker.wait_for(lambda: "stopping gracefully" in worker.log(), 10, "the stop to begin")
    marks.release()
    assert worker.wait_exit(20) == 0
    run = app.runs.get(handle.id)
    assert (run.state, run.result) == ("succeeded", "released")


def test_sigterm_past_the_shutdown_timeout_hands_the_run_back_and_kills_the_child(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn(shutdown_timeout=0.5)
    handle = app.enqueue("proc_deaf", {"marks": str(marks.path)})
    child = wait_until(lambda: marks.pid("proc_deaf", handle.id, 1), 30, "the run to start")
    worker.send(signal.SIGTERM)
    assert worker.wait_exit(15) == 0
    run = app.runs.get(handle.id)
    assert (run.state, run.attempt, run.errors) == ("queued", 0, [])
    assert wait_until(lambda: gone(child), 10, "the child to be killed")


def test_a_killed_worker_takes_its_children_with_it(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    worker = procs.spawn()
    handle = app.enqueue("proc_deaf", {"marks": str(marks.path)})
    child = wait_until(lambda: marks.pid("proc_deaf", handle.id, 1), 30, "the run to start")
    worker.kill9()
    assert wait_until(lambda: gone(child), 10, "the orphaned child to exit")
    assert os.getpid() != child


def test_app_start_runs_process_jobs_in_children_of_this_process(
    database_url: str, tmp_path: Path
) -> None:
    embedded = build_app(database_url, tmp_path)
    embedded.start(scheduler=False, maintenance=False)
    try:
        result = embedded.enqueue("proc_add", {"a": 1, "b": 1}).result(timeout=30)
    finally:
        embedded.stop()
    assert result["sum"] == 2
    assert result["pid"] != os.getpid()
    assert wait_until(lambda: gone(result["pid"]), 10, "the child to end with the worker")


def test_a_process_step_of_a_workflow_gets_its_upstream_results(
    database_url: str, tmp_path: Path
) -> None:
    here = build_app(database_url, tmp_path)
    wf = rota.Workflow("sums")
    wf.add("a", "proc_add", {"a": 1, "b": 2})
    wf.add("b", "proc_add", {"a": 10, "b": 20})
    wf.add("total", "proc_upstream", after=["a", "b"])
    handle = wf.enqueue(app=here)
    try:
        assert here.drain() == {"succeeded": 3}
        results = handle.result(timeout=10)
    finally:
        here.close()
    assert {k: v for k, v in results["total"].items() if k != "pid"} == {"a": 3, "b": 30}
    assert results["total"]["pid"] != os.getpid()
