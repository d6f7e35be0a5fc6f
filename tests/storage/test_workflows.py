"""Conformance: workflows on both backends. Steps inserted in one transaction (the caller's
with ``connection=``), a step's end settling the steps after it in the same transaction
(release on success, UpstreamFailed cancellation on failure or cancel, whatever verb ended
it), a retry reopening the step and the steps after it, and the reads."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from rota.runs import Event, Outcome, Run, RunState
from rota.storage.base import (
    CancelParams,
    ClaimParams,
    FinishParams,
    LimitedJob,
    PurgeParams,
    ReleaseParams,
    RescueParams,
    RetryParams,
    Store,
)
from rota.storage.queue_store import QueueLimitsParams
from rota.storage.workflow_store import WorkflowInsert
from rota.usecases import workflows as use
from rota.workflows import WorkflowState

from .support import NODE, T0, at, claim, failed, get, insert_one, new_run, succeeded

W, Q, R = RunState.WAITING, RunState.QUEUED, RunState.RUNNING
S, F, C = RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED
DIAMOND = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}


def insert_wf(
    store: Store,
    shape: Mapping[str, Sequence[str]],
    *,
    name: str = "wf",
    max_attempts: int = 3,
    connection: Any = None,
    parent_run_id: int | None = None,
) -> tuple[int, dict[str, int]]:
    """A workflow of ``shape`` (step -> steps it comes after, upstreams first), as the use
    case builds it: a step with upstreams waits, the others are queued. (id, step -> run id)."""
    names = list(shape)
    runs = [
        dataclasses.replace(
            new_run(
                f"job_{n}", args={"n": n}, max_attempts=max_attempts, state=W if shape[n] else Q
            ),
            step=n,
        )
        for n in names
    ]
    position = {n: i for i, n in enumerate(names)}
    edges = [(position[u], position[n]) for n in names for u in shape[n]]
    done = store.workflow_insert(WorkflowInsert(name, runs, edges, T0, connection, parent_run_id))
    return done.id, dict(zip(names, done.run_ids, strict=True))


def states(store: Store, ids: Mapping[str, int]) -> dict[str, RunState]:
    return {n: get(store, i).state for n, i in ids.items()}


def start(store: Store, run_id: int, now: float = 10) -> Run:
    [run] = claim(store, run_id=run_id, now=at(now))
    return run


def succeed(store: Store, run_id: int, result: Any = None, now: float = 20) -> None:
    run = start(store, run_id, now - 5)
    assert store.runs_finish(FinishParams([succeeded(run, at(now), result)])) == []


def fail(store: Store, run_id: int, now: float = 20) -> None:
    run = start(store, run_id, now - 5)
    assert store.runs_finish(FinishParams([failed(run, at(now))])) == []


def upstream_failed(step: str, how: str, now: float) -> dict[str, Any]:
    return {
        "attempt": 0,
        "type": "UpstreamFailed",
        "message": f"upstream step '{step}' {how}",
        "traceback": "",
        "at": at(now).isoformat(),
    }


# -- insert ------------------------------------------------------------------------------


def test_insert_stores_every_step_upstreams_first_with_its_edges(store: Store) -> None:
    wf_id, ids = insert_wf(store, DIAMOND, name="diamond")
    assert ids["a"] < ids["b"] < ids["c"] < ids["d"]  # the order given: upstreams first
    assert states(store, ids) == {"a": Q, "b": W, "c": W, "d": W}
    for name, run_id in ids.items():
        run = get(store, run_id)
        assert (run.workflow, run.step, run.job) == (wf_id, name, f"job_{name}")
    [record] = store.workflows_get([wf_id])
    assert (record.id, record.name, record.created_at) == (wf_id, "diamond", T0)
    assert [(s.name, s.job, s.run_id, s.after) for s in record.steps] == [
        ("a", "job_a", ids["a"], ()),
        ("b", "job_b", ids["b"], ("a",)),
        ("c", "job_c", ids["c"], ("a",)),
        ("d", "job_d", ids["d"], ("b", "c")),
    ]
    assert record.state is WorkflowState.RUNNING
    assert store.workflows_get([wf_id + 1000]) == []


def test_a_plain_run_is_no_workflow_step(store: Store) -> None:
    run = get(store, insert_one(store))
    assert (run.workflow, run.step) == (None, None)
    assert store.workflow_upstream(run.id) == {}


# -- settle: release ---------------------------------------------------------------------


def test_a_step_is_released_only_once_all_its_upstreams_succeeded(store: Store) -> None:
    _, ids = insert_wf(store, DIAMOND)
    succeed(store, ids["a"], {"a": 1})
    assert states(store, ids) == {"a": S, "b": Q, "c": Q, "d": W}
    succeed(store, ids["b"], {"b": 2})
    assert states(store, ids) == {"a": S, "b": S, "c": Q, "d": W}  # fan-in: c still running
    start(store, ids["c"])
    assert get(store, ids["d"]).state is W
    run = get(store, ids["c"])
    store.runs_finish(FinishParams([succeeded(run, at(30), {"c": 3})]))
    assert states(store, ids) == {"a": S, "b": S, "c": S, "d": Q}
    d = get(store, ids["d"])
    assert (d.attempt, d.finished_at, d.errors) == (0, None, [])
    assert store.workflow_upstream(ids["d"]) == {"b": {"b": 2}, "c": {"c": 3}}
    assert store.workflow_upstream(ids["b"]) == {"a": {"a": 1}}
    assert store.workflow_upstream(ids["a"]) == {}


def test_the_finish_in_a_claim_settles_in_the_same_call(store: Store) -> None:
    """The worker's hot path: the outcomes ride in the next claim, which releases the steps
    after them (SQLite claims them at once; PostgreSQL settles after its claim statement, so
    the next claim takes them)."""
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    first = claim(store, now=at(20), finish=[succeeded(run, at(20), "A")])
    assert get(store, ids["a"]).state is S
    assert get(store, ids["b"]).state in (Q, R)
    later = claim(store, now=at(21))
    assert [r.id for r in first + later] == [ids["b"]]


def test_the_limited_claim_settles_the_steps_it_finishes(store: Store) -> None:
    """A worker serving limited jobs finishes through the limited claim (limits.py)."""
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("a",)})
    run = start(store, ids["a"])
    params = ClaimParams(
        node_id=NODE,
        queues=None,
        limit=10,
        now=at(20),
        lease_until=at(50),
        finish=[succeeded(run, at(20), "A")],
        jobs=["job_a", "job_b"],
        limited=[LimitedJob("job_c", concurrency=1, concurrency_keyed=False)],
        limited_slots=1,
    )
    result = store.runs_claim(params)
    assert result.refused == []
    assert get(store, ids["a"]).state is S
    assert {get(store, ids[n]).state for n in "bc"} <= {Q, R}
    claimed = {r.id for r in result.claimed} | {r.id for r in claim(store, now=at(21))}
    assert claimed == {ids["b"], ids["c"]}


def test_the_claim_under_queue_limits_alone_settles_the_steps_it_finishes(store: Store) -> None:
    """No job has limits, only a queue: the claim of queue limits (PostgreSQL: one statement)."""
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    store.queue_set_limits(
        QueueLimitsParams("elsewhere", at(0), set_concurrency=True, concurrency=1)
    )
    params = ClaimParams(
        node_id=NODE,
        queues=None,
        limit=10,
        now=at(20),
        lease_until=at(50),
        finish=[succeeded(run, at(20), "A")],
        jobs=["job_a", "job_b"],
        queue_limits=True,
    )
    result = store.runs_claim(params)
    assert result.refused == [] and result.queue_limits
    assert get(store, ids["a"]).state is S
    later = store.runs_claim(dataclasses.replace(params, now=at(21), finish=()))
    assert {r.id for r in result.claimed} | {r.id for r in later.claimed} == {ids["b"]}


def test_a_failed_limited_claim_finish_cancels_the_steps_after(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    params = ClaimParams(
        node_id=NODE,
        queues=None,
        limit=10,
        now=at(20),
        lease_until=at(50),
        finish=[failed(run, at(20))],
        limited=[LimitedJob("job_b", concurrency=1, concurrency_keyed=False)],
        limited_slots=1,
    )
    assert store.runs_claim(params).claimed == []
    assert states(store, ids) == {"a": F, "b": C}
    assert get(store, ids["b"]).errors == [upstream_failed("a", "failed", 20)]


# -- settle: failure and cancel -----------------------------------------------------------


def test_a_failed_step_cancels_every_step_after_it_naming_the_step(store: Store) -> None:
    shape = {"a": (), "side": (), "b": ("a",), "c": ("b",), "d": ("c", "side"), "x": ("a",)}
    _, ids = insert_wf(store, shape)
    fail(store, ids["a"], now=20)
    assert states(store, ids) == {"a": F, "side": Q, "b": C, "c": C, "d": C, "x": C}
    for name in ("b", "c", "d", "x"):
        run = get(store, ids[name])
        assert run.errors == [upstream_failed("a", "failed", 20)], name
        assert run.finished_at == at(20)
        assert run.attempt == 0
    succeed(store, ids["side"], now=30)  # d stays cancelled
    assert get(store, ids["d"]).state is C


def test_a_fan_in_step_is_cancelled_when_one_upstream_fails(store: Store) -> None:
    _, ids = insert_wf(store, DIAMOND)
    succeed(store, ids["a"])
    succeed(store, ids["b"], now=25)
    fail(store, ids["c"], now=30)
    assert states(store, ids) == {"a": S, "b": S, "c": F, "d": C}
    assert get(store, ids["d"]).errors == [upstream_failed("c", "failed", 30)]


def test_a_cancelled_step_cancels_the_steps_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",)})
    assert store.runs_cancel(CancelParams([ids["a"]], at(5))) == {ids["a"]: C}
    assert states(store, ids) == {"a": C, "b": C, "c": C}
    assert get(store, ids["c"]).errors == [upstream_failed("a", "was cancelled", 5)]


def test_a_waiting_step_cancelled_cancels_the_steps_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",)})
    store.runs_cancel(CancelParams([ids["b"]], at(5)))
    assert states(store, ids) == {"a": Q, "b": C, "c": C}
    assert get(store, ids["b"]).errors == []  # cancelled by the user, not by its upstream
    assert get(store, ids["c"]).errors == [upstream_failed("b", "was cancelled", 5)]
    succeed(store, ids["a"])
    assert states(store, ids) == {"a": S, "b": C, "c": C}


def test_a_running_step_asked_to_cancel_then_stopping_cancels_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    assert store.runs_cancel(CancelParams([ids["a"]], at(12))) == {ids["a"]: R}
    assert get(store, ids["b"]).state is W
    # the attempt ends with a success decided before the request: the cancel wins
    store.runs_finish(FinishParams([succeeded(run, at(20), "late")]))
    assert states(store, ids) == {"a": C, "b": C}
    assert get(store, ids["b"]).errors == [upstream_failed("a", "was cancelled", 20)]


def test_a_step_handed_back_after_a_cancel_request_cancels_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    store.runs_cancel(CancelParams([ids["a"]], at(12)))
    assert store.runs_release(ReleaseParams(NODE, [(run.id, run.attempt)], at(15))) == 1
    assert states(store, ids) == {"a": C, "b": C}
    assert get(store, ids["b"]).errors == [upstream_failed("a", "was cancelled", 15)]


def test_a_step_handed_back_goes_back_to_the_queue_its_dependents_wait(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    run = start(store, ids["a"])
    store.runs_release(ReleaseParams(NODE, [(run.id, run.attempt)], at(15)))
    assert states(store, ids) == {"a": Q, "b": W}


def test_a_step_rescued_with_no_attempt_left_fails_and_cancels_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",)}, max_attempts=1)
    start(store, ids["a"], now=0)  # lease until at(30)
    rescued = store.runs_rescue(RescueParams(at(100)))
    assert [r.id for r in rescued] == [ids["a"]]
    assert states(store, ids) == {"a": F, "b": C, "c": C}
    assert [e["type"] for e in get(store, ids["a"]).errors] == ["WorkerLost"]
    assert get(store, ids["c"]).errors == [upstream_failed("a", "failed", 100)]


def test_a_step_rescued_with_attempts_left_is_queued_its_dependents_wait(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)}, max_attempts=2)
    start(store, ids["a"], now=0)
    store.runs_rescue(RescueParams(at(100)))
    assert states(store, ids) == {"a": Q, "b": W}


# -- retry: reopen -----------------------------------------------------------------------


def test_retry_of_a_failed_step_reopens_it_and_the_steps_after_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",), "d": ("c",)})
    succeed(store, ids["a"], "A")
    fail(store, ids["b"], now=30)
    assert states(store, ids) == {"a": S, "b": F, "c": C, "d": C}
    assert store.runs_retry(RetryParams([ids["b"]], at(40))) == [ids["b"]]
    assert states(store, ids) == {"a": S, "b": Q, "c": W, "d": W}
    b = get(store, ids["b"])
    assert (b.attempt, b.max_attempts, b.finished_at, b.run_at) == (1, 4, None, at(40))
    c = get(store, ids["c"])
    assert (c.attempt, c.max_attempts, c.finished_at) == (0, 3, None)
    assert c.errors == [upstream_failed("b", "failed", 30)]  # its history stays
    succeed(store, ids["b"], now=50)
    succeed(store, ids["c"], now=60)
    assert states(store, ids) == {"a": S, "b": S, "c": S, "d": Q}


def test_retry_of_a_root_step_queues_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    fail(store, ids["a"])
    assert store.runs_retry(RetryParams([ids["a"]], at(40))) == [ids["a"]]
    assert states(store, ids) == {"a": Q, "b": W}


def test_retry_of_a_cancelled_step_reopens_it(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": ("a",)})
    succeed(store, ids["a"])
    store.runs_cancel(CancelParams([ids["b"]], at(30)))
    assert store.runs_retry(RetryParams([ids["b"]], at(40))) == [ids["b"]]
    assert states(store, ids) == {"a": S, "b": Q}


def test_a_second_failed_branch_keeps_its_dependents_cancelled(store: Store) -> None:
    _, ids = insert_wf(store, {"a": (), "b": (), "c": ("a", "b"), "d": ("c",)})
    fail(store, ids["a"], now=20)
    fail(store, ids["b"], now=30)
    assert states(store, ids) == {"a": F, "b": F, "c": C, "d": C}
    store.runs_retry(RetryParams([ids["a"]], at(40)))
    assert states(store, ids) == {"a": Q, "b": F, "c": C, "d": C}
    c = get(store, ids["c"])
    assert c.errors[-1] == upstream_failed("b", "failed", 40)
    assert c.finished_at == at(40)
    succeed(store, ids["a"], now=50)
    assert states(store, ids) == {"a": S, "b": F, "c": C, "d": C}
    store.runs_retry(RetryParams([ids["b"]], at(60)))
    assert states(store, ids) == {"a": S, "b": Q, "c": W, "d": W}


def test_retry_of_a_step_whose_upstream_failed_is_refused(store: Store) -> None:
    """It could not run: the retry says so (no id back) and leaves it as it was, rather than
    reopening it only to cancel it again."""
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",)})
    fail(store, ids["a"], now=20)
    before = get(store, ids["b"])
    assert store.runs_retry(RetryParams([ids["b"]], at(40))) == []
    assert states(store, ids) == {"a": F, "b": C, "c": C}
    assert get(store, ids["b"]) == before
    both = store.runs_retry(RetryParams([ids["b"], ids["a"]], at(50)))  # with its upstream: yes
    assert sorted(both) == [ids["a"], ids["b"]]
    assert states(store, ids) == {"a": Q, "b": W, "c": W}


def test_retry_of_a_succeeded_step_changes_nothing(store: Store) -> None:
    """A retry of a run that did not fail is refused, in a workflow as outside one: it must
    not reopen the failed steps after it behind the caller's back."""
    _, ids = insert_wf(store, {"a": (), "b": ("a",), "c": ("b",)})
    succeed(store, ids["a"])
    fail(store, ids["b"], now=30)
    assert store.runs_retry(RetryParams([ids["a"]], at(40))) == []
    assert states(store, ids) == {"a": S, "b": F, "c": C}


def test_retry_of_a_workflow_puts_back_every_failed_and_cancelled_step(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": (), "c": ("a", "b"), "d": ("c",)})
    fail(store, ids["a"], now=20)
    succeed(store, ids["b"], now=25)
    assert use.get(store, wf_id).state is WorkflowState.FAILED
    retried = use.retry(store, wf_id, at(40))
    assert sorted(retried) == [ids["a"], ids["c"], ids["d"]]
    assert states(store, ids) == {"a": Q, "b": S, "c": W, "d": W}
    assert use.get(store, wf_id).state is WorkflowState.RUNNING
    assert use.retry(store, wf_id, at(41)) == []  # nothing failed now


def test_cancel_of_a_workflow_ends_every_step_not_ended(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": (), "c": ("a",), "d": ("b", "c")})
    succeed(store, ids["b"])
    run = start(store, ids["a"], now=30)
    record = use.cancel(store, wf_id, at(35))
    assert states(store, ids) == {"a": R, "b": S, "c": C, "d": C}
    assert get(store, ids["a"]).cancel_requested
    assert record.state is WorkflowState.RUNNING  # a is still running, asked to stop
    store.runs_finish(FinishParams([Outcome.of(run, NODE, Event.STOP, at(40))]))
    record = use.get(store, wf_id)
    assert record.state is WorkflowState.CANCELLED
    assert record.finished_at == at(40)


# -- the caller's transaction ------------------------------------------------------------


@pytest.fixture
def caller_conn(store: Store, database_url: str) -> Iterator[Any]:
    if store.backend == "sqlite":
        conn: Any = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    else:
        import psycopg

        conn = psycopg.connect(database_url)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def _rows(store: Store, database_url: str) -> tuple[int, int, int]:
    """Rows in rota_runs, rota_workflows and rota_workflow_edges, seen from outside."""
    sql = [
        f"SELECT count(*) FROM {t}" for t in ("rota_runs", "rota_workflows", "rota_workflow_edges")
    ]
    if store.backend == "sqlite":
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            a, b, c = (int(conn.execute(s).fetchone()[0]) for s in sql)
        finally:
            conn.close()
        return a, b, c
    import psycopg

    with psycopg.connect(database_url) as pg:
        a, b, c = (int(pg.execute(s).fetchone()[0]) for s in sql)  # type: ignore[index]
        return a, b, c


def test_a_workflow_in_a_rolled_back_transaction_leaves_nothing(
    store: Store, database_url: str, caller_conn: Any
) -> None:
    wf_id, ids = insert_wf(store, DIAMOND, connection=caller_conn)
    assert store.workflows_get([wf_id]) == []  # not visible before the commit
    caller_conn.rollback()
    assert _rows(store, database_url) == (0, 0, 0)
    assert store.workflows_get([wf_id]) == []
    assert all(store.runs_get(i) is None for i in ids.values())


def test_a_workflow_in_a_committed_transaction_is_stored(
    store: Store, database_url: str, caller_conn: Any
) -> None:
    wf_id, ids = insert_wf(store, DIAMOND, connection=caller_conn)
    caller_conn.commit()
    assert _rows(store, database_url) == (4, 1, 4)
    [record] = store.workflows_get([wf_id])
    assert [s.run_id for s in record.steps] == list(ids.values())
    succeed(store, ids["a"])
    assert states(store, ids) == {"a": S, "b": Q, "c": Q, "d": W}


# -- parent run, listing -----------------------------------------------------------------


def test_a_second_insert_for_the_same_parent_run_returns_the_first(
    store: Store, database_url: str
) -> None:
    parent = insert_one(store)
    first, _ = insert_wf(store, DIAMOND, parent_run_id=parent)
    again = store.workflow_insert(
        WorkflowInsert(
            "wf", [dataclasses.replace(new_run("x"), step="x")], [], T0, parent_run_id=parent
        )
    )
    assert (again.id, again.created, again.run_ids) == (first, False, [])
    assert _rows(store, database_url) == (5, 1, 4)
    [record] = store.workflows_get([first])
    assert record.parent_run_id == parent
    other, _ = insert_wf(store, {"a": ()}, parent_run_id=insert_one(store))
    assert other != first


def test_workflows_are_listed_newest_first_in_pages(store: Store) -> None:
    made = [insert_wf(store, {"a": (), "b": ("a",)}, name=f"w{i}")[0] for i in range(5)]
    page = store.workflows_list(2)
    assert [w.id for w in page] == made[::-1][:2]
    assert [len(w.steps) for w in page] == [2, 2]
    page2 = store.workflows_list(2, before_id=page[-1].id)
    assert [w.id for w in page2] == made[::-1][2:4]
    page3 = store.workflows_list(2, before_id=page2[-1].id)
    assert [w.id for w in page3] == [made[0]]
    assert store.workflows_list(2, before_id=made[0]) == []
    assert [w.name for w in store.workflows_list(50)] == ["w4", "w3", "w2", "w1", "w0"]


def test_the_record_shows_results_and_end_times(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": ("a",)})
    succeed(store, ids["a"], {"rows": [1, 2]}, now=20)
    succeed(store, ids["b"], None, now=30)
    [record] = store.workflows_get([wf_id])
    assert record.step("a").result == {"rows": [1, 2]}
    assert record.step("a").finished_at == at(20)
    assert record.state is WorkflowState.SUCCEEDED
    assert record.finished_at == at(30)
    assert record.to_json()["steps"][1] == {
        "name": "b",
        "job": "job_b",
        "run_id": ids["b"],
        "state": "succeeded",
        "after": ["a"],
    }


def test_a_step_name_with_a_quote_is_named_alike_on_both_backends(store: Store) -> None:
    _, ids = insert_wf(store, {"it's \\ here": (), "b": ("it's \\ here",)})
    fail(store, ids["it's \\ here"], now=20)
    [entry] = get(store, ids["b"]).errors
    assert entry["message"] == "upstream step 'it''s \\ here' failed"


# -- deleting steps ----------------------------------------------------------------------


def test_a_step_is_not_deleted_while_a_step_after_it_may_still_need_it(store: Store) -> None:
    """Deleting a failed step would let a retry of the workflow run the steps after it as if
    it had succeeded; deleting a succeeded one would lose the result a step after it receives.
    Either stays until every step after it succeeded."""
    wf_id, ids = insert_wf(store, {"a": (), "b": (), "c": ("a", "b")})
    succeed(store, ids["a"], "A")
    fail(store, ids["b"], now=30)
    assert states(store, ids) == {"a": S, "b": F, "c": C}
    assert store.runs_delete(ids["a"]) is False
    assert store.runs_delete(ids["b"]) is False
    purge = PurgeParams([S, F], None)
    assert store.runs_purge(purge) == 0
    use.retry(store, wf_id, at(40))
    assert states(store, ids) == {"a": S, "b": Q, "c": W}  # c waits for b, as before
    succeed(store, ids["b"], "B", now=50)
    succeed(store, ids["c"], now=60)
    assert store.runs_purge(purge) == 3  # all succeeded: nothing after them needs them now
