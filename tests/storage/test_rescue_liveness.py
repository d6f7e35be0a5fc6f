"""Conformance: liveness (a node stopped, or silent since ``dead_before``, is dead): its runs
are rescued and its leader lease is free, whatever the leases; the database's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rota.nodes import Node
from rota.runs import Run, RunState
from rota.storage.base import FinishParams, RescueParams, Store
from rota.storage.leader_store import LeaderParams

from .support import T0, at, claim, get, insert, new_run, succeeded

LONG = timedelta(seconds=300)


def register(store: Store, node_id: str, seen: float) -> None:
    when = at(seen)
    store.node_register(
        Node(node_id, "host", 1, ["worker"], started_at=T0, last_seen_at=when, info={})
    )


def rescue(store: Store, now: float, dead_before: float | None) -> list[Run]:
    dead = None if dead_before is None else at(dead_before)
    return store.runs_rescue(RescueParams(now=at(now), dead_before=dead))


def test_runs_of_a_silent_node_are_rescued_before_their_lease_expires(store: Store) -> None:
    dead_run, live_run = insert(store, new_run(max_attempts=3), new_run(max_attempts=3))
    register(store, "silent", seen=0)
    register(store, "beating", seen=0)
    claim(store, node="silent", run_id=dead_run, lease=LONG)
    claim(store, node="beating", run_id=live_run, lease=LONG)
    store.node_heartbeat("beating", at(8))

    assert rescue(store, 9, dead_before=None) == []  # lease only: both leases hold
    assert rescue(store, 9, dead_before=-1) == []  # both seen since
    [rescued] = rescue(store, 9, dead_before=5)  # "silent" last seen at 0, "beating" at 8
    assert rescued.id == dead_run and rescued.state is RunState.QUEUED
    run = get(store, dead_run)
    assert run.attempt == 1 and [e["type"] for e in run.errors] == ["WorkerLost"]
    assert "silent" in run.errors[0]["message"]
    assert get(store, live_run).state is RunState.RUNNING


def test_runs_of_a_stopped_node_are_rescued_at_once(store: Store) -> None:
    [run_id] = insert(store, new_run(max_attempts=3))
    register(store, "stopping", seen=0)
    claim(store, node="stopping", run_id=run_id, lease=LONG)
    store.node_stop("stopping", at(1))
    assert [r.id for r in rescue(store, 2, dead_before=-10)] == [run_id]


def test_a_node_with_no_row_keeps_the_lease_rule(store: Store) -> None:
    [run_id] = insert(store, new_run(max_attempts=3))
    claim(store, node="drain-1", run_id=run_id, lease=timedelta(seconds=30))  # never registered
    assert rescue(store, 29, dead_before=28) == []
    assert [r.id for r in rescue(store, 31, dead_before=30)] == [run_id]


def test_a_late_result_of_a_node_declared_dead_is_refused(store: Store) -> None:
    [run_id] = insert(store, new_run(max_attempts=3))
    register(store, "partitioned", seen=0)
    [run] = claim(store, node="partitioned", run_id=run_id, lease=LONG)
    assert [r.id for r in rescue(store, 6, dead_before=5)] == [run_id]

    store.node_heartbeat("partitioned", at(7))  # it comes back...
    late = succeeded(run, at(7), "too late", node="partitioned")
    assert store.runs_finish(FinishParams([late])) == [late]  # ...and its result is refused
    after = get(store, run_id)
    assert after.state is RunState.QUEUED and after.result is None


def test_a_second_liveness_rescue_rescues_nothing(store: Store) -> None:
    [run_id] = insert(store, new_run(max_attempts=3))
    register(store, "gone", seen=0)
    claim(store, node="gone", run_id=run_id, lease=LONG)
    assert len(rescue(store, 6, dead_before=5)) == 1
    assert rescue(store, 6, dead_before=5) == []
    assert get(store, run_id).attempt == 1


def test_the_leader_lease_of_a_dead_node_is_taken_before_it_expires(store: Store) -> None:
    register(store, "leader", seen=0)
    register(store, "follower", seen=0)

    def take(node: str, now: float, dead_before: float | None) -> bool:
        dead = None if dead_before is None else at(dead_before)
        return store.leader_acquire(LeaderParams("maintenance", node, at(now), at(now + 300), dead))

    assert take("leader", 0, None)
    store.node_heartbeat("leader", at(4))
    assert not take("follower", 5, None)  # by lease only: held for 300 s
    assert not take("follower", 5, 1)  # the leader was seen at 4
    assert take("follower", 9, 5)  # not seen since 4: dead
    held = store.leader_get("maintenance")
    assert held is not None and held.node_id == "follower"
    assert not store.leader_renew(LeaderParams("maintenance", "leader", at(9), at(309)))


def test_the_database_clock_is_readable(store: Store) -> None:
    before = datetime.now(UTC)
    read = store.db_now()
    assert read.tzinfo is not None
    assert abs((read - before).total_seconds()) < 5  # same machine here: no skew
