"""Conformance: claiming runs (order, queues, due times, limits) and no double claims."""

from __future__ import annotations

import threading
from datetime import timedelta

from rota.runs import Run, RunState
from rota.storage import open_store
from rota.storage.base import (
    ClaimParams,
    FinishParams,
    ForeignParams,
    InsertParams,
    Outcome,
    Store,
)

from .support import NODE, T0, at, claim, get, insert, insert_one, new_run, retrying, succeeded


def test_claim_marks_run_running_with_lease(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store, now=at(5), lease=timedelta(seconds=30))

    assert run.id == run_id
    assert run.state is RunState.RUNNING
    assert run.attempt == 1
    assert run.node_id == NODE
    assert run.started_at == at(5)
    assert run.lease_expires_at == at(35)
    assert get(store, run_id) == run


def test_claim_order_priority_then_run_at_then_id(store: Store) -> None:
    late_low = insert_one(store, new_run(priority=0, run_at=at(-10)))
    urgent = insert_one(store, new_run(priority=-1, run_at=at(-1)))
    early_a = insert_one(store, new_run(priority=0, run_at=at(-20)))
    early_b = insert_one(store, new_run(priority=0, run_at=at(-20)))
    lazy = insert_one(store, new_run(priority=5, run_at=at(-100)))

    order = [claim(store, limit=1)[0].id for _ in range(5)]
    assert order == [urgent, early_a, early_b, late_low, lazy]
    assert claim(store) == []


def test_claim_with_limit_takes_the_first_in_order(store: Store) -> None:
    low = insert(store, *[new_run(priority=1) for _ in range(5)])
    high = insert(store, *[new_run(priority=-1) for _ in range(3)])

    first = claim(store, limit=4)
    assert {r.id for r in first} == {*high, low[0]}
    assert [r.id for r in first] == [*high, low[0]]  # returned in claim order
    assert len(claim(store, limit=100)) == 4


def test_claim_limit_zero_claims_nothing(store: Store) -> None:
    run_id = insert_one(store)
    assert claim(store, limit=0) == []
    assert get(store, run_id).state is RunState.QUEUED


def test_claim_only_serves_the_given_queues(store: Store) -> None:
    mail = insert_one(store, new_run(queue="mail"))
    default = insert_one(store, new_run(queue="default"))
    reports = insert_one(store, new_run(queue="reports"))

    assert [r.id for r in claim(store, queues=["mail", "reports"])] == [mail, reports]
    assert claim(store, queues=["mail", "reports"]) == []
    assert claim(store, queues=["nothing-here"]) == []
    assert [r.id for r in claim(store, queues=None)] == [default]


def test_claim_takes_only_due_runs(store: Store) -> None:
    due = insert_one(store, new_run(run_at=at(0)))
    later = insert_one(store, new_run(run_at=at(60)))

    assert [r.id for r in claim(store, now=at(0))] == [due]
    assert claim(store, now=at(59)) == []
    assert get(store, later).state is RunState.SCHEDULED
    assert [r.id for r in claim(store, now=at(60))] == [later]


def test_claim_never_takes_running_or_terminal_runs(store: Store) -> None:
    insert(store, new_run(), new_run())
    [a] = claim(store, limit=1)
    assert store.runs_finish(FinishParams([succeeded(a, at(1))])) == []
    [b] = claim(store)
    assert b.id != a.id
    assert claim(store, now=at(1000)) == []


def test_claim_by_run_id_takes_that_run_due_or_not(store: Store) -> None:
    first = insert_one(store)
    future = insert_one(store, new_run(run_at=at(3600)))

    [run] = claim(store, run_id=future, now=T0)
    assert run.id == future and run.state is RunState.RUNNING and run.attempt == 1
    assert get(store, first).state is RunState.QUEUED
    assert claim(store, run_id=future) == []  # already running
    assert claim(store, run_id=987654) == []


def test_claim_by_run_id_refuses_terminal_runs(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    assert store.runs_finish(FinishParams([succeeded(run, at(1))])) == []
    assert claim(store, run_id=run_id, now=at(2)) == []
    assert get(store, run_id).state is RunState.SUCCEEDED


def test_claim_takes_due_retrying_runs_as_next_attempt(store: Store) -> None:
    run_id = insert_one(store)
    [run] = claim(store)
    assert store.runs_finish(FinishParams([retrying(run, at(1), next_at=at(10))])) == []
    assert claim(store, now=at(9)) == []
    [again] = claim(store, now=at(10))
    assert again.id == run_id and again.attempt == 2


def test_claim_takes_only_runs_of_the_given_jobs(store: Store) -> None:
    foreign = insert_one(store, new_run("renamed", priority=-1))  # first in claim order
    send = insert_one(store, new_run("send"))
    other_queue = insert_one(store, new_run("send", queue="mail"))
    partition = insert_one(store, new_run("rota.batch.partition"))
    jobs = ["send", "rota.batch.partition"]

    assert [r.id for r in claim(store, jobs=jobs, queues=["default"])] == [send, partition]
    assert [r.id for r in claim(store, jobs=jobs)] == [other_queue]
    assert claim(store, jobs=jobs) == []
    assert claim(store, jobs=[]) == []
    run = get(store, foreign)
    assert run.state is RunState.QUEUED and run.attempt == 0 and run.node_id is None
    assert [r.id for r in claim(store, jobs=None)] == [foreign]  # None: any job


def test_claim_with_jobs_and_finish_in_one_call(store: Store) -> None:
    first, foreign, second = insert(store, new_run(), new_run("renamed"), new_run())
    [run] = claim(store, limit=1, jobs=["send"])
    assert run.id == first
    [after] = claim(store, jobs=["send"], finish=[succeeded(run, at(1), result=1)])
    assert after.id == second
    assert get(store, first).state is RunState.SUCCEEDED
    assert get(store, foreign).state is RunState.QUEUED


def test_foreign_jobs_lists_unknown_jobs_with_due_runs_waiting(store: Store) -> None:
    insert(
        store,
        new_run("send"),
        new_run("old_a", queue="mail"),
        new_run("old_b"),
        new_run("old_b"),
        new_run("later", run_at=at(60)),
    )
    assert store.runs_foreign_jobs(ForeignParams(["send"], None, T0)) == ["old_a", "old_b"]
    assert store.runs_foreign_jobs(ForeignParams(["send"], ["mail"], T0)) == ["old_a"]
    assert store.runs_foreign_jobs(ForeignParams(["send", "old_a", "old_b"], None, T0)) == []
    assert store.runs_foreign_jobs(ForeignParams(["send"], None, T0, scan=1)) == ["old_a"]
    assert "later" in store.runs_foreign_jobs(ForeignParams(["send"], None, at(60)))
    claim(store, jobs=["old_a"])  # running runs are not waiting
    assert store.runs_foreign_jobs(ForeignParams(["send"], None, T0)) == ["old_b"]


# -- concurrency ----------------------------------------------------------------------------

CLAIMERS = 8
RUNS = 2_000
BATCH = 7


def test_no_run_is_claimed_twice_by_concurrent_claimers(store: Store) -> None:
    ids = [
        i.id
        for i in store.runs_insert_many(
            InsertParams([new_run(args={"n": n}, priority=n % 3) for n in range(RUNS)], T0)
        )
    ]
    start = threading.Barrier(CLAIMERS)
    claimed: list[list[int]] = [[] for _ in range(CLAIMERS)]
    refused: list[Outcome] = []
    problems: list[BaseException] = []

    def claimer(n: int) -> None:
        own = open_store(store.url)  # its own connections, like another node
        try:
            start.wait(timeout=30)
            node = f"node-{n}"
            held: list[Run] = []
            while True:
                result = own.runs_claim(
                    ClaimParams(
                        node_id=node,
                        queues=None,
                        limit=BATCH,
                        now=at(1),
                        lease_until=at(600),
                        finish=[succeeded(r, at(1), {"by": node}, node=node) for r in held],
                    )
                )
                refused.extend(result.refused)
                held = result.claimed
                claimed[n].extend(r.id for r in held)
                if not held:
                    return
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            problems.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(CLAIMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=110)
    assert not any(t.is_alive() for t in threads), "a claimer hung"
    assert problems == []

    everything = [i for part in claimed for i in part]
    assert len(everything) == RUNS, "some run was claimed twice or never"
    assert sorted(everything) == sorted(ids)
    assert refused == []
    assert sum(1 for part in claimed if part) > 1, "only one claimer ever got work"
    assert store.runs_count_by_state() == {RunState.SUCCEEDED: RUNS}
    owners = {i: n for n, part in enumerate(claimed) for i in part}
    for run_id in ids[:: RUNS // 50]:
        run = get(store, run_id)
        assert run.attempt == 1
        assert run.result == {"by": f"node-{owners[run_id]}"}
