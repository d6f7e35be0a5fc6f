"""Liveness: a node that stops beating is dead within seconds, whatever its lease; a slow one
is not. Real worker processes with the default-sized lease of 30 s, so a rescue within
seconds can only come from liveness (``rota.nodes.NODE_DEAD_AFTER_SECONDS``)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

import rota
from rota.cluster.heartbeat import TRUST_MARGIN, Heartbeat, HeartbeatConfig
from rota.cluster.identity import NodeIdentity
from rota.nodes import HEARTBEAT_SECONDS, LIVENESS_CHECK_SECONDS, NODE_DEAD_AFTER_SECONDS
from rota.storage.base import Store
from tests.integration.procs import Marks, Procs, wait_started, wait_terminal
from tests.support import wait_until

LEASE = 30.0
RESCUE_WITHIN = NODE_DEAD_AFTER_SECONDS + LIVENESS_CHECK_SECONDS
"""The last beat came at most at the kill; the rescuer looks every half beat."""
SLACK = 1.5  # a loaded CI machine


def test_runs_of_a_killed_leader_are_rescued_within_seconds_not_a_lease(
    app: rota.App, procs: Procs, marks: Marks
) -> None:
    victim = procs.spawn(lease_seconds=LEASE)
    wait_started(victim)
    wait_until(lambda: _leader(app) == _node_of(app, victim.pid), 20, "the first to lead")
    handle = app.enqueue("hang_first")
    wait_until(lambda: marks.pid("hang_first", handle.id, 1), 20, "attempt 1 to start")
    survivor = procs.spawn(lease_seconds=LEASE)
    wait_started(survivor)
    wait_until(lambda: _node_of(app, survivor.pid), 10, "the survivor to register")

    victim.kill9()
    killed = time.monotonic()
    wait_until(lambda: app.runs.get(handle.id).errors, 20, "the run to be rescued")
    rescued_in = time.monotonic() - killed
    print(f"killed leader's run rescued {rescued_in:.2f} s after kill -9 (lease {LEASE} s)")
    assert rescued_in < RESCUE_WITHIN + SLACK

    run = wait_terminal(app, handle.id, 20)
    assert run.state == "succeeded" and run.attempt == 2
    assert [e["type"] for e in run.errors] == ["WorkerLost"]
    assert _leader(app) == _node_of(app, survivor.pid)


def test_a_slow_node_keeps_its_runs(app: rota.App, procs: Procs, marks: Marks) -> None:
    app.start(worker=False, scheduler=False)  # this process leads maintenance, never runs jobs
    try:
        wait_until(lambda: _leader(app) == _node_of(app, os.getpid()), 20, "this node to lead")
        busy = procs.spawn(lease_seconds=LEASE, concurrency=2)
        wait_started(busy)
        long_ = 2 * NODE_DEAD_AFTER_SECONDS
        cpu = app.enqueue("spin", {"seconds": long_})  # CPU-bound: holds the GIL
        sleeper = app.enqueue("slow", {"seconds": long_})
        for handle in (cpu, sleeper):
            run = wait_terminal(app, handle.id, 60)
            assert run.state == "succeeded", run.errors
            assert run.attempt == 1 and run.errors == []
            assert run.node_id == _node_of(app, busy.pid)
        assert "rescued run" not in busy.log()
    finally:
        app.stop()


def _leader(app: rota.App) -> str | None:
    held = app.store.leader_get("maintenance")
    return None if held is None else held.node_id


def _node_of(app: rota.App, pid: int) -> str | None:
    return next((n.id for n in app.nodes.list() if n.pid == pid and n.stopped_at is None), None)


class Monotonic:
    """This process's monotonic clock, moved by hand (the heartbeat's beats are real)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_node_judges_others_only_after_beating_steadily_itself(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Monotonic()
    monkeypatch.setattr("rota.cluster.heartbeat.time.monotonic", clock)
    beat = Heartbeat(store, HeartbeatConfig(NodeIdentity.new(("worker",)), lease_seconds=30))
    now = datetime.now(UTC)
    assert beat.dead_before(now) is None and beat.alive_until() < clock.now

    for _ in range(int(NODE_DEAD_AFTER_SECONDS) - 1):  # steady beats
        beat.run_once()
        clock.now += HEARTBEAT_SECONDS
    assert beat.dead_before(now) is None  # steady, not yet long enough
    beat.run_once()
    clock.now += HEARTBEAT_SECONDS
    assert beat.dead_before(now) == now - timedelta(seconds=NODE_DEAD_AFTER_SECONDS)
    beat.run_once()
    assert beat.alive_until() == clock.now + NODE_DEAD_AFTER_SECONDS - TRUST_MARGIN

    clock.now += 3 * HEARTBEAT_SECONDS  # frozen, or the database was away: beats missed
    assert beat.dead_before(now) is None
    beat.run_once()
    assert beat.dead_before(now) is None  # the others get their time to beat again
    assert [n.id for n in store.nodes_list(now - timedelta(minutes=1))] == [beat.config.identity.id]
