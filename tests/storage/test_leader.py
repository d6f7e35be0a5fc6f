"""Conformance: leader leases, taken and renewed by compare-and-set, one holder at a time."""

from __future__ import annotations

import threading

from rota.storage.base import Store
from rota.storage.leader_store import LeaderParams

from .support import NODE, OTHER_NODE, T0, at

LEASE = 30.0


def lease(node: str, now: float, name: str = "maintenance") -> LeaderParams:
    return LeaderParams(name, node, at(now), at(now + LEASE))


def test_the_first_node_takes_a_free_lease_and_others_are_refused(store: Store) -> None:
    assert store.leader_get("maintenance") is None
    assert store.leader_acquire(lease(NODE, 0))
    assert not store.leader_acquire(lease(OTHER_NODE, 1))
    assert not store.leader_renew(lease(OTHER_NODE, 1))

    held = store.leader_get("maintenance")
    assert held is not None
    assert (held.name, held.node_id) == ("maintenance", NODE)
    assert held.elected_at == T0 and held.expires_at == at(LEASE)


def test_the_holder_renews_and_keeps_its_election_time(store: Store) -> None:
    assert store.leader_acquire(lease(NODE, 0))
    assert store.leader_renew(lease(NODE, 10))
    assert store.leader_acquire(lease(NODE, 20))  # acquiring again renews too

    held = store.leader_get("maintenance")
    assert held is not None and held.node_id == NODE
    assert held.elected_at == T0 and held.expires_at == at(20 + LEASE)
    assert not store.leader_acquire(lease(OTHER_NODE, 20 + LEASE - 1))


def test_an_expired_lease_goes_to_the_next_node_and_the_old_holder_cannot_renew_it(
    store: Store,
) -> None:
    assert store.leader_acquire(lease(NODE, 0))
    assert not store.leader_renew(lease(NODE, LEASE)), "expired: renewing is too late"
    assert store.leader_acquire(lease(OTHER_NODE, LEASE))
    assert not store.leader_renew(lease(NODE, LEASE + 1))
    assert not store.leader_acquire(lease(NODE, LEASE + 1))

    held = store.leader_get("maintenance")
    assert held is not None
    assert held.node_id == OTHER_NODE and held.elected_at == at(LEASE)


def test_an_expired_lease_nobody_took_is_taken_back_by_its_holder(store: Store) -> None:
    assert store.leader_acquire(lease(NODE, 0))
    assert store.leader_acquire(lease(NODE, LEASE + 5))
    held = store.leader_get("maintenance")
    assert held is not None and held.node_id == NODE and held.expires_at == at(2 * LEASE + 5)


def test_resigning_frees_the_lease_at_once_and_only_for_its_holder(store: Store) -> None:
    assert store.leader_acquire(lease(NODE, 0))
    assert not store.leader_resign(lease(OTHER_NODE, 1))
    assert store.leader_get("maintenance") is not None

    assert store.leader_resign(lease(NODE, 1))
    assert store.leader_get("maintenance") is None
    assert store.leader_acquire(lease(OTHER_NODE, 2))


def test_leases_of_different_names_are_independent(store: Store) -> None:
    assert store.leader_acquire(lease(NODE, 0, "maintenance"))
    assert store.leader_acquire(lease(OTHER_NODE, 0, "other"))
    assert not store.leader_acquire(lease(OTHER_NODE, 1, "maintenance"))


def test_racing_nodes_elect_exactly_one_leader(store: Store) -> None:
    nodes = [f"node-{i}" for i in range(8)]
    start = threading.Barrier(len(nodes))
    won: list[str] = []

    def race(node: str) -> None:
        start.wait(10)
        if store.leader_acquire(lease(node, 0)):
            won.append(node)

    threads = [threading.Thread(target=race, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    held = store.leader_get("maintenance")
    assert held is not None
    assert won == [held.node_id]
