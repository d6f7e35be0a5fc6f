"""Partitions that the step's own worker runs (no other worker took them): they are runs of
that worker like any other, in its run log and counts, reached by cancels, handed back when
it stops. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

import rota
from rota import batch
from tests.integration.procs import Procs, wait_started, wait_terminal
from tests.integration.test_batch_faults import lines
from tests.support import wait_until


def every_nth(count: int) -> Callable[[batch.StepContext], range]:
    def read(ctx: batch.StepContext) -> range:
        assert ctx.partition is not None
        return range(ctx.partition["partition"], count, ctx.partition["partitions"])

    return read


def execution_of(app: rota.App, run_id: int) -> batch.BatchExecution:
    found = app.batches.for_run(run_id)
    assert found is not None
    return found


def partitions(app: rota.App, run_id: int) -> list[batch.StepExecution]:
    return [s for s in execution_of(app, run_id).steps if s.partition >= 0]


def test_partitions_run_here_are_runs_of_that_worker(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``app.drain`` has no other worker: each partition's run starts and ends in the run log
    like any run, on the drain's node, and the drain counts it."""
    app = rota.App(database=database_url)

    @app.batch
    def spread() -> batch.Flow:
        return batch.Flow(
            [batch.chunk("load", reader=every_nth(12), writer=lambda items: None, partitions=3)]
        )

    handle = spread.enqueue()
    with caplog.at_level(logging.INFO, logger="rota.runs"):
        counts = app.drain()

    children = [p.run_id for p in partitions(app, handle.id)]
    assert len(children) == 3 and None not in children
    assert counts == {"succeeded": 4}
    told: dict[int, list[str]] = {}
    for record in caplog.records:
        if record.name == "rota.runs":
            told.setdefault(record.__dict__["run_id"], []).append(record.__dict__["state"])
    assert told == {run_id: ["running", "succeeded"] for run_id in [handle.id, *children]}
    parent = app.runs.get(handle.id)
    assert {app.runs.get(c).node_id for c in children if c is not None} == {parent.node_id}
    app.close()


def test_exec_runs_the_partitions_past_its_single_slot(database_url: str) -> None:
    """``app.exec`` (``rota exec``) runs one run with one slot: the step lends it to its
    partitions, which all run there."""
    app = rota.App(database=database_url)
    seen: list[int] = []

    @app.batch
    def spread() -> batch.Flow:
        return batch.Flow(
            [batch.chunk("load", reader=every_nth(20), writer=seen.extend, size=3, partitions=4)]
        )

    run = app.runs.exec("spread")
    assert run.state == "succeeded", run.errors
    assert sorted(seen) == list(range(20))
    children = [p.run_id for p in partitions(app, run.id)]
    assert [app.runs.get(c).state for c in children if c is not None] == ["succeeded"] * 4
    app.close()


def test_cancelling_a_partition_run_here_stops_it(database_url: str) -> None:
    """A cancel of a partition's run reaches it through its worker's heartbeat, as it would on
    any worker: it stops at its next chunk, and so the step and the execution stop."""
    app = rota.App(database=database_url, lease_seconds=1)  # a heartbeat every 0.25 s

    def slow(i: int) -> int:
        time.sleep(0.03)
        return i

    @app.batch
    def spread() -> batch.Flow:
        return batch.Flow(
            [
                batch.chunk(
                    "load",
                    reader=every_nth(120),
                    processor=slow,
                    writer=lambda items: None,
                    size=2,
                    partitions=2,
                )
            ]
        )

    handle = spread.enqueue()
    drained: dict[str, int] = {}
    drain = threading.Thread(target=lambda: drained.update(app.drain()))
    drain.start()
    try:

        def committed() -> batch.StepExecution | None:
            ex = app.batches.for_run(handle.id)
            steps = ex.steps if ex is not None else []
            return next((s for s in steps if s.partition >= 0 and s.commits >= 1), None)

        part = wait_until(committed, 30, "a partition's first commit")
        assert part.run_id is not None
        app.runs.cancel(part.run_id)
    finally:
        drain.join(60)
    assert not drain.is_alive()
    assert app.runs.get(part.run_id).state == "cancelled"
    stopped = next(p for p in partitions(app, handle.id) if p.run_id == part.run_id)
    assert stopped.state == "stopped" and stopped.read < 60, stopped
    assert execution_of(app, handle.id).state == "stopped"
    assert app.runs.get(handle.id).state == "cancelled"
    app.close()


def test_shutdown_hands_the_partitions_run_here_back(
    app: rota.App, procs: Procs, tmp_path: Path
) -> None:
    """One worker with one slot: the step's run lends it to the partitions. SIGTERM hands
    them all back at their next chunk (not counted as attempts); the next worker finishes
    the execution, every item written once."""
    out = tmp_path / "parts.jsonl"
    first = procs.spawn(concurrency=1, shutdown_timeout=60)
    wait_started(first)
    handle = app.get_job("split_batch").enqueue(count=400, out=str(out))

    def all_committed() -> bool:
        parts = partitions(app, handle.id)
        return len(parts) == 4 and all(p.commits >= 2 for p in parts)

    wait_until(all_committed, 30, "every partition to commit twice")
    first.send(signal.SIGTERM)
    began = time.monotonic()
    assert first.wait_exit(30) == 0
    assert time.monotonic() - began < 15  # a chunk takes 0.1 s; the timeout is 60 s
    runs = [app.runs.get(handle.id)] + [
        app.runs.get(p.run_id) for p in partitions(app, handle.id) if p.run_id is not None
    ]
    assert [(r.state, r.errors) for r in runs] == [("queued", [])] * 5
    assert execution_of(app, handle.id).state == "started"
    second = procs.spawn(concurrency=8)
    wait_started(second)
    run = wait_terminal(app, handle.id, 60)
    assert run.state == "succeeded", run.errors
    assert Counter(w["i"] for w in lines(out)) == Counter(range(400))
