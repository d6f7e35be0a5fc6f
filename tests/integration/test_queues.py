"""Paused queues, with real worker processes: no run of a paused queue starts more than a second
after ``pause()`` returns, other queues go on, running runs finish, the pause survives a
restart of the workers, and a resume starts the queue again (both backends)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

import rota
from rota.errors import InvalidInput
from rota.runs import RunState
from rota.worker.worker import Worker, WorkerConfig
from tests.integration.procs import Marks, Procs, wait_started
from tests.integration.queuejobs import read_starts
from tests.support import wait_until

PAUSE_WITHIN = 1.0


def launch(app: rota.App, queue: str, count: int, seconds: float) -> list[int]:
    job = app.get_job("timed").configure(queue=queue)
    return job.enqueue_many([{"tag": queue, "seconds": seconds}] * count)


def starts(marks: Marks, tag: str, kind: str = "start") -> list[tuple[int, float]]:
    return [(run, t) for got, run, t in read_starts(marks.path, kind) if got == tag]


def states(app: rota.App, ids: list[int]) -> dict[int, rota.Run]:
    return {i: app.runs.get(i) for i in ids}


def all_succeeded(app: rota.App, ids: list[int]) -> bool:
    return all(r.state == "succeeded" for r in states(app, ids).values())


def test_a_paused_queue_starts_nothing_across_workers_and_restarts(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    workers = [procs.spawn(concurrency=2), procs.spawn(concurrency=2)]
    for w in workers:
        wait_started(w)
    bulk = launch(app, "bulk", 60, 0.2)
    other = launch(app, "other", 30, 0.05)
    wait_until(lambda: len(starts(marks, "bulk")) >= 6, 30, "bulk runs to be running")

    paused = app.queues.pause("bulk")
    returned = time.time()
    assert paused.paused

    # other queues go on; the bulk runs running at the pause finish
    wait_until(lambda: all_succeeded(app, other), 30, "the other queue's runs to succeed")
    wait_until(lambda: app.queues.get("bulk").running == 0, 30, "bulk's running runs to end")
    started = dict(starts(marks, "bulk"))
    assert max(started.values()) <= returned + PAUSE_WITHIN, (started, returned)
    done = {run for run, _ in starts(marks, "bulk", "done")}
    assert done == set(started)
    now = states(app, bulk)
    assert all(now[i].state == "succeeded" for i in started)
    waiting = [i for i in bulk if i not in started]
    assert waiting, "the pause came too late to hold any run back"
    assert all((now[i].state, now[i].attempt) == ("queued", 0) for i in waiting)

    # the pause is stored: new workers leave the queue alone too
    for w in workers:
        assert w.stop(signal.SIGTERM) == 0
    workers = [procs.spawn(concurrency=2), procs.spawn(concurrency=2)]
    for w in workers:
        wait_started(w)
    more = launch(app, "other", 10, 0.05)
    wait_until(lambda: all_succeeded(app, more), 30, "runs launched after the restart to succeed")
    assert dict(starts(marks, "bulk")) == started
    assert app.queues.get("bulk").paused

    resumed_at = time.time()
    assert not app.queues.resume("bulk").paused
    wait_until(lambda: all_succeeded(app, bulk), 60, "the bulk runs to succeed after the resume")
    after = [t for run, t in starts(marks, "bulk") if run in waiting]
    assert min(after) >= resumed_at
    assert min(after) <= resumed_at + 2.0, "the resume did not wake the workers"
    assert all(r.attempt == 1 for r in states(app, bulk).values())  # nothing used while held


@pytest.fixture
def worker(app: rota.App) -> Iterator[Worker]:
    """A worker in this process that claims far ahead of its one slot, as a busy worker with
    very short runs sizes its claim-ahead (the pacer's measures are set so)."""
    config = WorkerConfig(node_id="ahead", concurrency=1, poll_interval=0.2, max_prefetch=50)
    w = Worker(app.store, app.jobs, config)
    w._pacer.avg_run, w._pacer.avg_rtt = 1e-6, 1.0  # the claim-ahead under test
    yield w
    w.stop()


def test_runs_claimed_ahead_go_back_when_their_queue_pauses(
    app: rota.App, worker: Worker, marks: Marks
) -> None:
    ids = launch(app, "ahead", 10, 1.0)
    worker.start()
    wait_until(lambda: starts(marks, "ahead"), 20, "the first run to start")
    assert app.queues.get("ahead").running >= 9  # one started, the others claimed ahead

    app.queues.pause("ahead")
    returned = time.time()
    wait_until(lambda: app.queues.get("ahead").running == 0, 20, "the claimed runs to go back")
    started = dict(starts(marks, "ahead"))
    assert max(started.values()) <= returned + PAUSE_WITHIN
    back = [r for r in states(app, ids).values() if r.id not in started]
    assert len(back) >= 7
    assert all((r.state, r.attempt, r.started_at) == ("queued", 0, None) for r in back)


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("set", {"concurrency": 0}),
        ("set", {"concurrency": -3}),
        ("set", {"concurrency": 1.5}),
        ("set", {"concurrency": True}),
        ("set", {"concurrency": 10**9}),
        ("set", {"rate_limit": (0, 1)}),
        ("set", {"rate_limit": (5, 0)}),
        ("set", {"rate_limit": (5, -1)}),
        ("set", {"rate_limit": (5, float("nan"))}),
        ("set", {"rate_limit": (5, float("inf"))}),
        ("set", {"rate_limit": (5, 10**12)}),
        ("set", {"rate_limit": (10**9, 1)}),
        ("set", {"rate_limit": 5}),
        ("set", {"rate_limit": (1, 2, 3)}),
        ("set", {"rate_limit": ("5", 1)}),
    ],
)
def test_bad_limits_are_refused_and_nothing_is_stored(
    app: rota.App, call: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        getattr(app.queues, call)("mail", **kwargs)
    assert app.queues.list() == []


@pytest.mark.parametrize("name", ["", "x" * 201, "a\x00b", "\ud800", None, 5])
def test_bad_queue_names_are_refused(app: rota.App, name: Any) -> None:
    for verb in (app.queues.pause, app.queues.resume, app.queues.set):
        with pytest.raises(InvalidInput):
            verb(name)
    assert app.queues.list() == []


def test_set_changes_what_it_is_given_and_lists_as_json(app: rota.App) -> None:
    launch(app, "mail", 2, 0.0)
    app.queues.set("mail", concurrency=3)
    app.queues.set("mail", rate_limit=(10, 60))
    [mail] = app.queues.list()
    assert mail.to_json() | {"oldest_queued_at": None} == {
        "name": "mail",
        "paused": False,
        "concurrency": 3,
        "rate_limit": {"limit": 10, "period": 60.0},
        "queued": 2,
        "running": 0,
        "oldest_queued_at": None,
        "count_cap": 10_000,
    }
    app.queues.set("mail", concurrency=None)
    assert app.queues.get("mail").rate == (10, 60.0)
    assert app.queues.get("mail").concurrency is None
    assert RunState.QUEUED.value == "queued"
