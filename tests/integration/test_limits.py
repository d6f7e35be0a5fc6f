"""Flow control across real worker processes: per-key and per-job concurrency, rate limits,
no head-of-line blocking behind a burst, a killed holder's place freed by the rescue."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict

import rota
from tests.integration.limitjobs import LIMITED_QUEUE, PER_JOB_LIMIT, RATE
from tests.integration.procs import Marks, Procs, wait_started, wait_terminal
from tests.support import wait_until

Interval = tuple[float, float]


def intervals(marks: Marks, job: str) -> dict[str, list[Interval]]:
    """Per key, the [start, end] intervals the job recorded."""
    out: dict[str, list[Interval]] = defaultdict(list)
    path = marks.path / "intervals.log"
    text = path.read_text() if path.exists() else ""
    for line in text.splitlines():
        name, key, start, end, _pid = line.split(" ")
        if name == job:
            out[key].append((float(start), float(end)))
    return out


def most_at_once(spans: list[Interval]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:  # an end sorts before a start at the same instant
        now += step
        most = max(most, now)
    return most


def all_ended(app: rota.App, count: int, timeout: float) -> None:
    def ended() -> bool:
        states = app.store.runs_count_by_state()
        return sum(n for s, n in states.items() if s.terminal) >= count

    wait_until(ended, timeout, f"{count} runs to end")
    assert app.store.runs_count_by_state() == {rota.RunState.SUCCEEDED: count}


def start_workers(procs: Procs, n: int = 3, concurrency: int = 4) -> None:
    for w in [procs.spawn(concurrency=concurrency) for _ in range(n)]:
        wait_started(w)


def test_per_key_limit_of_one_never_overlaps_across_workers(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    job = app.get_job("per_key")
    job.enqueue_many([{"key": f"k{i % 10}", "ms": 2} for i in range(500)])
    start_workers(procs)

    all_ended(app, 500, 120)
    spans = intervals(marks, "per_key")
    assert sorted(spans) == [f"k{i}" for i in range(10)]
    for key, runs in spans.items():
        runs.sort()
        assert len(runs) == 50
        overlaps = [(a, b) for a, b in itertools.pairwise(runs) if b[0] < a[1]]
        assert overlaps == [], f"key {key}: runs overlapped"
    # the keys ran side by side: the limit is per key, not per job
    assert most_at_once([s for runs in spans.values() for s in runs]) > 1


def test_per_job_limit_holds_across_workers(app: rota.App, procs: Procs, marks: Marks) -> None:
    app.get_job("per_job").enqueue_many([{"ms": 20} for _ in range(60)])
    start_workers(procs)

    all_ended(app, 60, 60)
    spans = intervals(marks, "per_job")[""]
    assert len(spans) == 60
    assert most_at_once(spans) == PER_JOB_LIMIT  # reached, never passed


def test_rate_limit_holds_cluster_wide_in_every_window(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    count, period = RATE
    app.get_job("rated").enqueue_many([{"n": i} for i in range(6 * count)])
    began = time.monotonic()
    start_workers(procs)

    all_ended(app, 6 * count, 60)
    took = time.monotonic() - began
    starts = sorted(
        r.started_at.timestamp()
        for r in app.runs.list(job="rated", limit=1000)
        if r.started_at is not None
    )
    assert len(starts) == 6 * count
    worst = max(sum(1 for t in starts[i:] if t < s + period) for i, s in enumerate(starts))
    assert worst <= count * 1.05, f"{worst} starts within {period} s (limit {count})"
    assert took >= 5 * period  # 6 windows' worth of runs cannot start faster
    assert worst >= count * 0.9  # and the rate is used, not wasted


def test_a_burst_of_one_key_does_not_hold_up_another(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    job = app.get_job("per_key")
    job.enqueue_many([{"key": "a", "ms": 30} for _ in range(200)])
    start_workers(procs, n=2)
    wait_until(lambda: intervals(marks, "per_key").get("a"), 20, "key a to run")

    enqueued = time.monotonic()
    b = job.enqueue(key="b", ms=0)
    wait_terminal(app, b.id, 10)
    waited = time.monotonic() - enqueued
    assert waited < 3.0, f"key b waited {waited:.1f} s behind key a's burst"
    a_done = len(intervals(marks, "per_key")["a"])
    assert a_done < 150, "key a's burst ended before b was even tried"


def test_a_killed_holders_place_is_freed_by_the_rescue(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    job = app.get_job("per_key")
    victim = procs.spawn()
    held = job.enqueue(key="x", ms=-1)  # holds its place until killed
    wait_until(lambda: marks.pid("per_key", held.id, 1), 20, "the holder to start")
    waiting = job.enqueue(key="x", ms=0)
    survivor = procs.spawn()
    wait_started(survivor)
    # the place is held: for a while (several polls of both workers), the run stays queued
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert app.runs.get(waiting.id).state == "queued"
        time.sleep(0.05)

    victim.kill9()
    rescued = wait_terminal(app, held.id, 30)
    assert rescued.state == "succeeded"
    assert [e["type"] for e in rescued.errors] == ["WorkerLost"]
    after = wait_terminal(app, waiting.id, 30)
    assert after.state == "succeeded"
    spans = sorted(intervals(marks, "per_key")["x"])
    assert len(spans) == 2 and spans[1][0] >= spans[0][1]


def test_queue_concurrency_set_at_run_time_holds_across_workers(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    start_workers(procs)
    app.queues.set(LIMITED_QUEUE, concurrency=2)
    app.get_job("in_limited_queue").enqueue_many([{"ms": 20} for _ in range(40)])
    plain = app.get_job("per_job").enqueue(ms=0)  # another queue is not held up

    wait_terminal(app, plain.id, 10)
    all_ended(app, 41, 60)
    spans = intervals(marks, "in_limited_queue")[""]
    assert len(spans) == 40
    assert most_at_once(spans) == 2


def test_queue_concurrency_holds_for_short_runs_claimed_ahead(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    # runs far shorter than a round trip: each worker claims some ahead of the queue's room,
    # not started, and starts them only in the places of its own runs as they end
    start_workers(procs)
    app.queues.set(LIMITED_QUEUE, concurrency=2)
    app.get_job("in_limited_queue").enqueue_many([{"ms": 0} for _ in range(300)])

    all_ended(app, 300, 90)
    spans = intervals(marks, "in_limited_queue")[""]
    assert len(spans) == 300
    assert most_at_once(spans) <= 2
    runs = app.runs.list(queue=LIMITED_QUEUE, limit=1000)
    assert len(runs) == 300 and all(r.started_at is not None for r in runs)
    assert all(r.attempt == 1 for r in runs)


def test_queue_rate_limit_holds_across_workers(app: rota.App, procs: Procs, marks: Marks) -> None:
    app.queues.set(LIMITED_QUEUE, rate_limit=(10, 1.0))
    app.get_job("in_limited_queue").enqueue_many([{"ms": 0} for _ in range(30)])
    start_workers(procs)

    all_ended(app, 30, 60)
    starts = sorted(
        r.started_at.timestamp()
        for r in app.runs.list(queue=LIMITED_QUEUE, limit=100)
        if r.started_at is not None
    )
    worst = max(sum(1 for t in starts[i:] if t < s + 1.0) for i, s in enumerate(starts))
    assert len(starts) == 30 and 9 <= worst <= 10


def test_drain_runs_a_limited_queue_at_once(app: rota.App, marks: Marks) -> None:
    app.queues.set(LIMITED_QUEUE, concurrency=1)
    app.get_job("in_limited_queue").enqueue_many([{"ms": 0} for _ in range(3)])
    assert app.drain() == {"succeeded": 3}  # the first claim learns of the limit, and goes on
    assert most_at_once(intervals(marks, "in_limited_queue")[""]) == 1
