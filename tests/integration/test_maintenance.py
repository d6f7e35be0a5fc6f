"""Maintenance on a real database, driven pass by pass: only the node holding the lease rescues,
reconciles and prunes; a stopping leader resigns so the next node leads at its next pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rota.cluster.maintenance import LEASE_NAME, Maintenance, MaintenanceConfig
from rota.retention import retention_policy
from rota.runs import RunState
from rota.storage.base import FinishParams, Store
from tests.storage.support import T0, at, claim, get, insert_one, new_run, succeeded

LEASE = 30.0


@dataclass
class FakeClock:
    current: datetime = T0

    def now(self) -> datetime:
        return self.current


def maintenance(store: Store, node: str, clock: FakeClock) -> Maintenance:
    return Maintenance(store, MaintenanceConfig(node, LEASE), clock)


def test_only_the_leader_rescues_and_a_stopping_leader_hands_over_at_once(store: Store) -> None:
    clock = FakeClock()
    first, second = maintenance(store, "node-1", clock), maintenance(store, "node-2", clock)
    run_id = insert_one(store, new_run())
    claim(store, node="dead-node", lease=timedelta(seconds=LEASE))

    clock.current = at(LEASE + 1)  # the dead node's lease on the run has run out
    assert second.run_once(), "the first to ask leads"
    leader = store.leader_get(LEASE_NAME)
    assert leader is not None and leader.node_id == "node-2"
    assert get(store, run_id).state is RunState.QUEUED, "the leader rescued it"
    assert not first.run_once(), "a second node does not lead while the lease is held"

    second.stop()  # never started: stopping still resigns the lease it holds
    assert store.leader_get(LEASE_NAME) is None
    assert first.run_once()
    leader = store.leader_get(LEASE_NAME)
    assert leader is not None and leader.node_id == "node-1"


def test_a_follower_takes_over_once_the_leaders_lease_expired(store: Store) -> None:
    clock = FakeClock()
    first, second = maintenance(store, "node-1", clock), maintenance(store, "node-2", clock)
    assert first.run_once()
    clock.current = at(LEASE - 1)
    assert not second.run_once()
    clock.current = at(LEASE)  # node-1 stopped renewing (killed): its lease has expired
    assert second.run_once()
    leader = store.leader_get(LEASE_NAME)
    assert leader is not None and leader.node_id == "node-2" and leader.elected_at == at(LEASE)


def test_only_the_leader_prunes_old_runs(store: Store) -> None:
    clock = FakeClock()
    five = retention_policy({"succeeded": 5})
    leader, follower = (
        Maintenance(store, MaintenanceConfig(n, LEASE, retention=five), clock)
        for n in ("node-1", "node-2")
    )
    assert leader.run_once()
    run_id = insert_one(store, new_run())
    [run] = claim(store, node="node-1")
    store.runs_finish(FinishParams([succeeded(run, at(1), node="node-1")]))
    clock.current = at(10)  # past its retention, within the leader's lease
    assert not follower.run_once()
    assert get(store, run_id).state is RunState.SUCCEEDED, "the follower deleted nothing"
    assert leader.run_once()
    assert store.runs_get(run_id) is None
