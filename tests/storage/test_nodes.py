"""Conformance: the nodes of a cluster."""

from __future__ import annotations

from dataclasses import replace

from rota.nodes import Node
from rota.storage.base import Store

from .support import T0, at


def node(node_id: str, started: float, roles: list[str] | None = None) -> Node:
    return Node(
        id=node_id,
        hostname="host-1",
        pid=4242,
        roles=roles or ["worker"],
        started_at=at(started),
        last_seen_at=at(started),
        info={"queues": ["default"], "concurrency": 4},
    )


def test_register_and_list(store: Store) -> None:
    store.node_register(node("n1", 0, ["worker", "scheduler"]))
    store.node_register(node("n2", 10))

    listed = store.nodes_list(seen_after=at(-60))
    assert [n.id for n in listed] == ["n2", "n1"]  # newest first
    n1 = listed[1]
    assert n1.hostname == "host-1" and n1.pid == 4242
    assert n1.roles == ["worker", "scheduler"]
    assert n1.started_at == T0 and n1.last_seen_at == T0
    assert n1.stopped_at is None
    assert n1.info == {"queues": ["default"], "concurrency": 4}


def test_heartbeat_keeps_a_node_listed_and_alive(store: Store) -> None:
    store.node_register(node("n1", 0))
    store.node_register(node("n2", 0))
    store.node_heartbeat("n1", at(100))

    assert [n.id for n in store.nodes_list(seen_after=at(50))] == ["n1"]
    [n1] = store.nodes_list(seen_after=at(50))
    assert n1.last_seen_at == at(100)
    assert n1.started_at == T0
    assert n1.to_json(at(110), lease_seconds=30)["state"] == "alive"
    assert n1.to_json(at(200), lease_seconds=30)["state"] == "dead"


def test_stop_marks_the_node_stopped(store: Store) -> None:
    store.node_register(node("n1", 0))
    store.node_stop("n1", at(5))

    [n1] = store.nodes_list(seen_after=at(-1))
    assert n1.stopped_at == at(5)
    assert n1.to_json(at(6), lease_seconds=30)["state"] == "stopped"


def test_registering_again_revives_a_stopped_node(store: Store) -> None:
    store.node_register(node("n1", 0))
    store.node_stop("n1", at(5))
    store.node_register(replace(node("n1", 0, ["worker", "api"]), last_seen_at=at(20)))
    [n1] = store.nodes_list(seen_after=at(-1))
    assert n1.stopped_at is None
    assert n1.last_seen_at == at(20)
    assert n1.roles == ["worker", "api"]


def test_prune_forgets_nodes_not_seen_for_long(store: Store) -> None:
    store.node_register(node("old", 0))
    store.node_register(node("fresh", 0))
    store.node_heartbeat("fresh", at(1000))

    assert store.nodes_prune(seen_before=at(500)) == 1
    assert [n.id for n in store.nodes_list(seen_after=at(-1))] == ["fresh"]
    assert store.nodes_prune(seen_before=at(500)) == 0


def test_heartbeat_and_stop_of_unknown_node_are_harmless(store: Store) -> None:
    store.node_heartbeat("ghost", at(1))
    store.node_stop("ghost", at(1))
    assert store.nodes_list(seen_after=at(-1000)) == []
