"""Batch jobs in real worker processes: kill -9 mid-step, stop and restart, partitions spread
over two workers. Each item is checked to be written exactly once in the output a user reads."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

import rota
from rota import batch
from tests.integration.dbfaults import sqlite_exclusive_lock, terminate_backends
from tests.integration.procs import Procs, wait_started, wait_terminal
from tests.support import wait_until

LEASE = 2.0


def lines(path: Path) -> list[dict[str, int]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines()]


def execution(app: rota.App, run_id: int) -> batch.BatchExecution:
    found = app.batches.for_run(run_id)
    assert found is not None
    return found


def load_step(ex: batch.BatchExecution) -> batch.StepExecution:
    return next(s for s in ex.steps if s.name == "load" and s.partition < 0)


def commits(app: rota.App, run_id: int) -> int:
    steps = [s for s in execution(app, run_id).steps if s.name == "load" and s.partition < 0]
    return steps[0].commits if steps else 0


def safe_commits(app: rota.App, run_id: int) -> int:
    """commits(), or 0 while the test's own connections are down too."""
    try:
        return commits(app, run_id)
    except rota.StorageUnavailable:
        return 0


def test_worker_killed_mid_step_resumes_from_its_last_commit(
    app: rota.App, procs: Procs, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    first = procs.spawn(lease_seconds=LEASE)
    handle = app.get_job("slow_batch").enqueue(count=150, out=str(out))
    wait_until(lambda: commits(app, handle.id) >= 4, 30, "four committed chunks")
    first.kill9()
    before = load_step(execution(app, handle.id))
    assert before.state == "started" and 4 <= before.commits < 30
    second = procs.spawn(lease_seconds=LEASE)
    wait_started(second)

    run = wait_terminal(app, handle.id, 4 * LEASE + 30)
    assert run.state == "succeeded", run.errors
    assert [e["type"] for e in run.errors] == ["WorkerLost"]  # max_attempts=1, yet resumed
    assert run.max_attempts == 1
    ex = execution(app, handle.id)
    assert ex.state == "completed" and ex.restart_of is None  # the same execution went on
    written = lines(out)
    assert [w["i"] for w in written] == list(range(150))  # each item once, in order
    by_pid = Counter(w["pid"] for w in written)
    assert set(by_pid) == {first.pid, second.pid}
    # the first worker's items are exactly those of the chunks it committed
    assert by_pid[first.pid] == before.position
    assert load_step(ex).read == 150


def test_stop_at_a_chunk_boundary_then_restart(app: rota.App, procs: Procs, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    procs.spawn(lease_seconds=LEASE)
    handle = app.get_job("slow_batch").enqueue(count=200, out=str(out))
    wait_until(lambda: commits(app, handle.id) >= 2, 30, "two committed chunks")
    ex = app.batches.stop(execution(app, handle.id).id)
    assert ex.state in ("stopping", "stopped")
    run = wait_terminal(app, handle.id, 30)
    assert run.state == "cancelled"
    stopped = execution(app, handle.id)
    assert stopped.state == "stopped" and load_step(stopped).state == "stopped"
    done = load_step(stopped).position
    assert 10 <= done < 200
    assert [w["i"] for w in lines(out)] == list(range(done))  # nothing past the last commit

    again = app.batches.restart(stopped.id)
    assert again.restart_of == stopped.id
    assert again.run_id is not None
    assert wait_terminal(app, again.run_id, 30).state == "succeeded"
    assert [w["i"] for w in lines(out)] == list(range(200))
    resumed = load_step(app.batches.get(again.id))
    assert resumed.read == 200 - done


def test_partitioned_step_spreads_over_two_workers(
    app: rota.App, procs: Procs, tmp_path: Path
) -> None:
    out = tmp_path / "parts.jsonl"
    workers = [procs.spawn(lease_seconds=LEASE, concurrency=2) for _ in range(2)]
    for w in workers:
        wait_started(w)
    handle = app.get_job("split_batch").enqueue(count=200, out=str(out))
    run = wait_terminal(app, handle.id, 60)
    assert run.state == "succeeded", run.errors
    written = lines(out)
    assert sorted(w["i"] for w in written) == list(range(200))
    assert {w["pid"] for w in written} == {w.pid for w in workers}
    ex = execution(app, handle.id)
    shown = ex.to_json()["steps"][0]
    assert shown["read"] == 200 and shown["written"] == 200
    parts = shown["partitions"]
    assert [p["partition"] for p in parts] == [0, 1, 2, 3]
    assert all(p["state"] == "completed" for p in parts)
    children = [app.runs.get(p["run_id"]) for p in parts]
    assert all(c.state == "succeeded" and c.kind == "batch" for c in children)
    assert len({c.node_id for c in children}) == 2  # both worker nodes ran partitions


def test_worker_killed_during_a_partitioned_step(
    app: rota.App, procs: Procs, tmp_path: Path
) -> None:
    out = tmp_path / "parts.jsonl"
    victim = procs.spawn(lease_seconds=LEASE, concurrency=8)
    wait_started(victim)
    handle = app.get_job("split_batch").enqueue(count=400, out=str(out))

    def partitions_committed() -> bool:
        ex = execution(app, handle.id)
        parts = [s for s in ex.steps if s.partition >= 0]
        return len(parts) == 4 and all(p.commits >= 2 for p in parts)

    wait_until(partitions_committed, 30, "every partition to commit twice")
    victim.kill9()
    survivor = procs.spawn(lease_seconds=LEASE, concurrency=8)
    wait_started(survivor)
    run = wait_terminal(app, handle.id, 60)
    assert run.state == "succeeded", run.errors
    # the shared file has no checkpoint of its own (a plain function writer): a chunk written
    # but not committed when the kill came is written again; committed ones never are
    counts = Counter(w["i"] for w in lines(out))
    assert set(counts) == set(range(400))
    ex = execution(app, handle.id)
    assert ex.state == "completed"
    assert sum(s.read for s in ex.steps if s.partition >= 0) == 400  # committed counts
    again = sum(n - 1 for n in counts.values())
    assert max(counts.values()) <= 2 and again <= 4 * 5  # at most one chunk per partition


def test_graceful_shutdown_hands_the_run_back_mid_step(
    app: rota.App, procs: Procs, tmp_path: Path
) -> None:
    """SIGTERM: the step hands its run back at the next chunk boundary, without waiting for
    the (long) shutdown timeout; the execution carries on from that commit on the next
    worker (it is not a stop)."""
    import signal

    out = tmp_path / "out.jsonl"
    first = procs.spawn(lease_seconds=LEASE, shutdown_timeout=60)
    handle = app.get_job("slow_batch").enqueue(count=300, out=str(out))
    wait_until(lambda: commits(app, handle.id) >= 3, 30, "three committed chunks")
    first.send(signal.SIGTERM)
    began = time.monotonic()
    assert first.wait_exit(30) == 0
    assert time.monotonic() - began < 15  # a chunk takes 0.1 s; the timeout is 60 s
    assert app.runs.get(handle.id).state == "queued"
    assert execution(app, handle.id).state == "started"  # not stopped: handed back
    second = procs.spawn(lease_seconds=LEASE)
    wait_started(second)
    run = wait_terminal(app, handle.id, 60)
    assert run.state == "succeeded" and run.errors == []
    ex = execution(app, handle.id)
    assert ex.state == "completed" and ex.restart_of is None
    assert [w["i"] for w in lines(out)] == list(range(300))


@pytest.mark.slow
def test_a_database_outage_mid_step_is_ridden_out(
    app: rota.App, procs: Procs, tmp_path: Path, backend: str, database_url: str
) -> None:
    """Connections killed (PostgreSQL) or the file locked past the busy timeout (SQLite)
    during a step: chunk commits wait and retry, and the step carries on, each item once."""
    out = tmp_path / "out.jsonl"
    worker = procs.spawn(lease_seconds=2.0 if backend == "postgres" else 60.0)
    handle = app.get_job("slow_batch").enqueue(count=200, out=str(out))
    wait_until(lambda: commits(app, handle.id) >= 3, 30, "three committed chunks")
    if backend == "postgres":
        for _ in range(3):  # three outages, each followed by a commit
            before = safe_commits(app, handle.id)
            assert terminate_backends(database_url) >= 1
            wait_until(lambda b=before: safe_commits(app, handle.id) > b, 30, "a commit")
    else:
        with sqlite_exclusive_lock(database_url):
            wait_until(lambda: "database unavailable" in worker.log(), 30, "the outage")
    run = wait_terminal(app, handle.id, 90)
    assert run.state == "succeeded", run.errors
    ex = execution(app, handle.id)
    assert ex.state == "completed"
    assert [w["i"] for w in lines(out)] == list(range(200))
    assert load_step(ex).read == 200
