"""Conformance: idempotency keys stored with their run, atomically, until they expire."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from typing import Any

import pytest

from rota.errors import IdempotencyConflict
from rota.runs import RunState
from rota.storage import open_store
from rota.storage.base import CancelParams, IdempotencyKey, Inserted, InsertParams, Store

from .support import T0, at, get, new_run

DAY = timedelta(hours=24)


def key(
    name: str = "k", fingerprint: str = "f1", expires: float = DAY.total_seconds()
) -> IdempotencyKey:
    return IdempotencyKey(name, fingerprint, at(expires))


def launch(store: Store, idem: IdempotencyKey, now: float = 0, **run: Any) -> Inserted:
    [inserted] = store.runs_insert_many(InsertParams([new_run(**run)], at(now), idempotency=idem))
    return inserted


def count(store: Store) -> int:
    return sum(store.runs_count_by_state().values())


def test_a_repeat_returns_the_first_run(store: Store) -> None:
    first = launch(store, key(), args={"n": 1})
    assert first.created
    again = launch(store, key(), now=60, args={"n": 1})
    assert again == Inserted(first.id, False)
    assert count(store) == 1
    assert launch(store, key("other")).created
    assert count(store) == 2


def test_the_key_outlives_the_run_ending(store: Store) -> None:
    first = launch(store, key())
    store.runs_cancel(CancelParams([first.id], at(1)))
    assert launch(store, key(), now=2).id == first.id
    assert get(store, first.id).state is RunState.CANCELLED


def test_another_fingerprint_is_a_conflict_and_stores_nothing(store: Store) -> None:
    first = launch(store, key())
    with pytest.raises(IdempotencyConflict, match="'k'"):
        launch(store, key(fingerprint="f2"), now=1)
    assert count(store) == 1
    assert launch(store, key(), now=2).id == first.id


def test_an_expired_key_launches_again(store: Store) -> None:
    first = launch(store, key(expires=100))
    assert launch(store, key(expires=100), now=99).id == first.id
    later = launch(store, key(fingerprint="f2", expires=300), now=100)
    assert later.created and later.id != first.id
    assert launch(store, key(fingerprint="f2", expires=300), now=150).id == later.id
    with pytest.raises(IdempotencyConflict):
        launch(store, key(fingerprint="f1"), now=150)


def test_prune_forgets_expired_keys_only(store: Store) -> None:
    for n in range(5):
        launch(store, key(f"old{n}", expires=10))
    fresh = launch(store, key("fresh", expires=1000))
    assert store.idempotency_prune(at(10), limit=3) == 3
    assert store.idempotency_prune(at(10), limit=3) == 2
    assert store.idempotency_prune(at(10)) == 0
    assert launch(store, key("fresh", expires=1000), now=20).id == fresh.id
    assert launch(store, key("old0", fingerprint="new", expires=2000), now=20).created


def test_a_key_with_a_unique_key_run(store: Store) -> None:
    held = store.runs_insert_many(InsertParams([new_run(unique_key="u")], T0))[0]
    keyed = launch(store, key(), unique_key="u")
    assert keyed == Inserted(held.id, False)
    assert launch(store, key(), now=1, unique_key="u").id == held.id
    assert count(store) == 1


def test_concurrent_repeats_create_one_run(store: Store) -> None:
    launchers, rounds = 6, 15
    start = threading.Barrier(launchers)
    got: list[list[Inserted]] = [[] for _ in range(launchers)]
    problems: list[BaseException] = []

    def launcher(n: int) -> None:
        own = open_store(store.url)
        try:
            start.wait(timeout=30)
            for r in range(rounds):
                got[n].append(launch(own, key(f"k{r}"), args={"r": r}))
        except BaseException as exc:  # reported below
            problems.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=launcher, args=(n,)) for n in range(launchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert problems == []
    for r in range(rounds):
        answers = [part[r] for part in got]
        assert sum(a.created for a in answers) == 1, f"key k{r}: {answers}"
        assert len({a.id for a in answers}) == 1
    assert count(store) == rounds


def test_inside_the_callers_transaction(store: Store, database_url: str) -> None:
    if store.backend == "sqlite":
        conn: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    else:
        import psycopg

        conn = psycopg.connect(database_url)
    try:
        params = InsertParams([new_run()], T0, conn, key("tx"))
        [rolled] = store.runs_insert_many(params)
        conn.rollback()
        assert store.runs_get(rolled.id) is None
        [kept] = store.runs_insert_many(params)  # the key went with the rollback
        assert kept.created
        conn.commit()
        assert launch(store, key("tx"), now=1).id == kept.id
    finally:
        conn.close()
