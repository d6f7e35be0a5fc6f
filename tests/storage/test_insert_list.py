"""Conformance: inserting, reading and listing runs; unique keys."""

from __future__ import annotations

import threading

import pytest

from rota.runs import RunState
from rota.storage import open_store
from rota.storage.base import (
    CancelParams,
    FinishParams,
    Inserted,
    InsertParams,
    ListParams,
    Store,
)

from .support import T0, at, claim, failed, get, insert, insert_one, new_run, succeeded


def test_insert_one_stores_every_field(store: Store) -> None:
    args = {"order_id": 7, "tags": ["a", "é"], "meta": {"x": None, "y": 1.5, "ok": True}}
    run_id = insert_one(
        store,
        new_run(
            "send_receipt",
            args=args,
            queue="mail",
            priority=-5,
            max_attempts=4,
            schedule="nightly",
            timeout=12.5,
            unique_key="order-7",
        ),
        now=at(-10),
    )

    run = get(store, run_id)
    assert run.id == run_id
    assert run.job == "send_receipt"
    assert run.args == args
    assert run.queue == "mail"
    assert run.state is RunState.QUEUED
    assert run.priority == -5
    assert run.max_attempts == 4
    assert run.attempt == 0
    assert run.schedule == "nightly"
    assert run.timeout == 12.5
    assert run.unique_key == "order-7"
    assert run.run_at == T0
    assert run.created_at == at(-10)
    assert run.started_at is None and run.finished_at is None
    assert run.result is None and run.progress is None
    assert run.errors == []
    assert run.cancel_requested is False
    assert run.node_id is None and run.lease_expires_at is None


def test_insert_many_returns_ids_in_input_order(store: Store) -> None:
    runs = [new_run(args={"n": n}) for n in range(100)]
    inserted = store.runs_insert_many(InsertParams(runs, T0))

    assert len(inserted) == 100
    assert all(i.created for i in inserted)
    ids = [i.id for i in inserted]
    assert ids == sorted(ids) and len(set(ids)) == 100
    assert [get(store, i).args["n"] for i in ids] == list(range(100))


def test_insert_many_of_nothing_inserts_nothing(store: Store) -> None:
    assert store.runs_insert_many(InsertParams([], T0)) == []
    assert store.runs_count_by_state() == {}


def test_get_unknown_run_is_none(store: Store) -> None:
    assert store.runs_get(123456) is None


def test_list_is_newest_first_and_filters(store: Store) -> None:
    a = insert_one(store, new_run("a", queue="q1"))
    b = insert_one(store, new_run("b", queue="q2"))
    c = insert_one(store, new_run("a", queue="q2"))
    d = insert_one(store, new_run("b", queue="q1", run_at=at(60)))  # scheduled
    [running] = claim(store, limit=1, queues=["q2"])  # b is the oldest due run of q2
    assert running.id == b

    def ids(**kw: object) -> list[int]:
        return [r.id for r in store.runs_list(ListParams(**kw))]  # type: ignore[arg-type]

    assert ids() == [d, c, b, a]
    assert ids(job="a") == [c, a]
    assert ids(queue="q1") == [d, a]
    assert ids(job="b", queue="q1") == [d]
    assert ids(states=[RunState.QUEUED]) == [c, a]
    assert ids(states=[RunState.RUNNING, RunState.SCHEDULED]) == [d, b]
    assert ids(states=[RunState.FAILED]) == []
    assert ids(limit=2) == [d, c]
    assert ids(job="nope") == []


def test_list_pages_with_before_id_cursor(store: Store) -> None:
    all_ids = insert(store, *[new_run(args={"n": n}) for n in range(25)])
    pages: list[list[int]] = []
    cursor = None
    while True:
        page = store.runs_list(ListParams(limit=10, before_id=cursor))
        if not page:
            break
        pages.append([r.id for r in page])
        cursor = page[-1].id

    assert [len(p) for p in pages] == [10, 10, 5]
    flat = [i for p in pages for i in p]
    assert flat == sorted(all_ids, reverse=True)


def test_list_cursor_combines_with_filters(store: Store) -> None:
    ids = insert(store, *[new_run("a" if n % 2 else "b") for n in range(10)])
    a_ids = [i for n, i in enumerate(ids) if n % 2]
    page = store.runs_list(ListParams(job="a", limit=2, before_id=a_ids[3]))
    assert [r.id for r in page] == [a_ids[2], a_ids[1]]


# -- unique keys ----------------------------------------------------------------------------


def test_unique_key_returns_existing_run_while_not_terminal(store: Store) -> None:
    [first] = store.runs_insert_many(InsertParams([new_run("sync", unique_key="k")], T0))
    assert first.created

    again = store.runs_insert_many(InsertParams([new_run("sync", unique_key="k")], at(1)))
    assert again == [Inserted(first.id, created=False)]

    [run] = claim(store)  # still not terminal while running
    again = store.runs_insert_many(InsertParams([new_run("sync", unique_key="k")], at(2)))
    assert again == [Inserted(first.id, created=False)]
    assert len(store.runs_list(ListParams())) == 1
    assert run.id == first.id


@pytest.mark.parametrize("end", ["succeeded", "failed", "cancelled"])
def test_unique_key_is_free_again_once_terminal(store: Store, end: str) -> None:
    first = insert_one(store, new_run("sync", unique_key="k"))
    if end == "cancelled":
        store.runs_cancel(CancelParams([first], T0))
    else:
        [run] = claim(store)
        outcome = succeeded(run, at(1)) if end == "succeeded" else failed(run, at(1))
        assert store.runs_finish(FinishParams([outcome])) == []
    assert get(store, first).state == end

    [second] = store.runs_insert_many(InsertParams([new_run("sync", unique_key="k")], at(2)))
    assert second.created and second.id != first

    third = store.runs_insert_many(InsertParams([new_run("sync", unique_key="k")], at(3)))
    assert third == [Inserted(second.id, created=False)]


def test_unique_key_is_per_job(store: Store) -> None:
    got = store.runs_insert_many(
        InsertParams(
            [new_run("a", unique_key="k"), new_run("b", unique_key="k"), new_run("a")],
            T0,
        )
    )
    assert all(i.created for i in got)
    assert len({i.id for i in got}) == 3


def test_runs_without_unique_key_never_collide(store: Store) -> None:
    got = store.runs_insert_many(InsertParams([new_run("a"), new_run("a")], T0))
    assert [i.created for i in got] == [True, True]
    assert got[0].id != got[1].id


def test_unique_key_within_one_batch(store: Store) -> None:
    got = store.runs_insert_many(
        InsertParams(
            [
                new_run("a", unique_key="k", args={"n": 1}),
                new_run("a", unique_key="other", args={"n": 2}),
                new_run("a", unique_key="k", args={"n": 3}),
            ],
            T0,
        )
    )
    assert [i.created for i in got] == [True, True, False]
    assert got[2].id == got[0].id
    assert get(store, got[0].id).args == {"n": 1}  # the first launch wins
    assert store.runs_count_by_state() == {RunState.QUEUED: 2}


def test_concurrent_launches_with_one_unique_key_create_one_run(store: Store) -> None:
    launchers, rounds = 8, 20
    start = threading.Barrier(launchers)
    got: list[list[Inserted]] = [[] for _ in range(launchers)]
    problems: list[BaseException] = []

    def launcher(n: int) -> None:
        own = open_store(store.url)
        try:
            start.wait(timeout=30)
            for r in range(rounds):
                batch = [new_run("sync", unique_key=f"k{r}", args={"by": n})]
                got[n].extend(own.runs_insert_many(InsertParams(batch, T0)))
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
        assert sum(a.created for a in answers) == 1, f"key k{r} created {answers}"
        assert len({a.id for a in answers}) == 1
    assert store.runs_count_by_state() == {RunState.QUEUED: rounds}


def test_list_filters_by_creation_time(store: Store) -> None:
    early = store.runs_insert_many(InsertParams([new_run(args={"n": 1})], now=at(0)))[0].id
    middle = store.runs_insert_many(InsertParams([new_run(args={"n": 2})], now=at(60)))[0].id
    late = store.runs_insert_many(InsertParams([new_run(args={"n": 3})], now=at(120)))[0].id

    def ids(**window: object) -> list[int]:
        return [r.id for r in store.runs_list(ListParams(**window))]  # type: ignore[arg-type]

    assert ids(created_after=at(60)) == [late, middle]
    assert ids(created_before=at(60)) == [early]
    assert ids(created_after=at(30), created_before=at(90)) == [middle]
    assert ids(created_after=at(121)) == []


def test_list_searches_arguments_ignoring_case_with_wildcards_taken_literally(
    store: Store,
) -> None:
    texts = {
        "mail": {"to": "Alice@Example.com", "n": 1},
        "percent": {"note": "50% off"},
        "under": {"note": "a_b"},
        "slash": {"path": "C:\\tmp"},
        "plain": {"note": "5000 off, aXb"},
        "accent": {"name": "Zoë"},
    }
    ids = dict(zip(texts, insert(store, *(new_run(args=a) for a in texts.values())), strict=True))

    def found(text: str, **kw: object) -> set[str]:
        runs = store.runs_list(ListParams(search=text, **kw))  # type: ignore[arg-type]
        return {name for name, rid in ids.items() if rid in {r.id for r in runs}}

    assert found("alice@example") == {"mail"}
    assert found("ALICE@EXAMPLE.COM") == {"mail"}
    assert found("50%") == {"percent"}
    assert found("%") == {"percent"}
    assert found("_") == {"under"}
    assert found("a_b") == {"under"}
    assert found("\\") == {"slash"}  # the JSON text escapes it: C:\\tmp
    assert found("zoë") == {"accent"}
    assert found("nowhere") == set()
    assert found('"to"') == {"mail"}  # keys are part of the JSON text too
    assert found("off", job="send", limit=1) == {"plain"}  # newest first, with other filters
    assert found("off", states=[RunState.RUNNING]) == set()
