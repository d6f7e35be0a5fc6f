"""Conformance: what ``rota bench`` runs beside the store (``rota.storage.bench``).

Its bare loop drains exactly what it inserted, and its cleanup deletes what the bench made
and nothing else: a user's run in the bench's queue under another job name, a run of the
bench's job names in another queue, and the nodes of other processes all stay.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rota.nodes import Node
from rota.storage import open_bench_store
from rota.storage.base import Store
from rota.storage.bench import BenchStore, ForgetParams, Span

from .support import T0, insert, new_run


@pytest.fixture
def bench(store: Store, database_url: str) -> Iterator[BenchStore]:
    opened = open_bench_store(database_url)
    yield opened
    opened.bare_drop()
    opened.close()


def node(node_id: str, host: str, pid: int) -> Node:
    return Node(node_id, host, pid, ["worker"], T0, T0)


def test_the_bare_loop_drains_what_it_inserted(bench: BenchStore) -> None:
    bench.bare_reset()
    bench.bare_insert_each(7)
    bench.bare_insert_bulk(25)
    assert bench.bare_drain(10) == 32
    assert bench.bare_drain(10) == 0
    bench.bare_reset()
    assert bench.bare_drain(10) == 0


def test_forget_deletes_only_what_the_bench_made(store: Store, bench: BenchStore) -> None:
    ours = insert(store, new_run("b_x.noop", queue="b_q"), new_run("b_x.other", queue="b_q"))
    kept = insert(
        store,
        new_run("mine", queue="b_q"),  # the user's job in the bench's queue
        new_run("b_x.noop", queue="default"),  # the bench's name in the user's queue
        new_run("bXx.noop", queue="b_q"),  # "_" in the prefix is no wildcard
    )
    for node_id, host, pid in (("a", "h1", 11), ("b", "h1", 12), ("c", "h2", 11), ("d", "h1", 13)):
        store.node_register(node(node_id, host, pid))
    for node_id in ("a", "b", "c"):
        store.node_stop(node_id, T0)

    assert bench.forget(ForgetParams("b_q", "b_x.", "h1", (11, 13))) == len(ours)

    for run_id in ours:
        assert store.runs_get(run_id) is None
    for run_id in kept:
        assert store.runs_get(run_id) is not None
    # a: stopped, ours, gone; b: another pid; c: another host; d: ours but not stopped
    assert sorted(n.id for n in store.nodes_list(T0.replace(year=2000))) == ["b", "c", "d"]
    assert bench.span("b_q") == Span(0, None, None)
