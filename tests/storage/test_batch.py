"""Conformance: batch instances, executions, step checkpoints and partitions."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from rota.batch.model import BatchState, identity
from rota.errors import BatchConflict
from rota.runs import RunState
from rota.storage import open_store
from rota.storage.base import (
    BatchLaunch,
    CancelParams,
    FinishParams,
    Inserted,
    InsertParams,
    NewRun,
    Store,
)
from rota.storage.batch_store import (
    BatchListParams,
    BatchTransition,
    ChunkCommit,
    Holder,
    NewPartition,
    PartitionsParams,
    StepFinish,
    StepStart,
)

from .support import T0, at, claim, failed, get, new_run, succeeded

CHUNKS = "rota_test_chunks"  # rota_ prefix: the postgres fixture drops it between tests


def batch_run(
    job: str = "etl", *, day: str = "2030-01-01", limit: int | None = None, **args: Any
) -> NewRun:
    ident = {"day": day}
    return dataclasses.replace(
        new_run(job, args=ident | args),
        kind="batch",
        batch=BatchLaunch(identity(job, ident), ident, limit),
    )


def launch(store: Store, run: NewRun | None = None, now: datetime = T0) -> int:
    [inserted] = store.runs_insert_many(InsertParams([run or batch_run()], now))
    assert inserted.created
    return inserted.id


def run_count(store: Store) -> int:
    return sum(store.runs_count_by_state().values())


def execution_of(store: Store, run_id: int) -> Any:
    found = store.batch_for_run(run_id)
    assert found is not None, f"run {run_id} carries no execution"
    return found


def fail_run(store: Store, run_id: int, now: datetime | None = None) -> None:
    now = now or at(10)
    [run] = claim(store, run_id=run_id, now=now)
    assert store.runs_finish(FinishParams([failed(run, now)])) == []


def running_step(store: Store, name: str = "load") -> tuple[int, int, Any]:
    """A launched run claimed (attempt 1) and its execution's step started."""
    run_id = launch(store)
    claim(store, run_id=run_id, now=at(1))
    ex = execution_of(store, run_id)
    began = BatchTransition(ex.id, [BatchState.STARTING], BatchState.STARTED, at(1), started=True)
    assert store.batch_transition(began)
    step = store.batch_step_start(StepStart(ex.id, name, at(2)))
    return run_id, ex.id, step


def chunk(
    step_id: int, run_id: int, attempt: int = 1, position: int = 10, **kw: Any
) -> ChunkCommit:
    values: dict[str, Any] = {"read": 10, "written": 9, "skipped": 1, "filtered": 0}
    values |= kw
    return ChunkCommit(
        step_id=step_id,
        run_id=run_id,
        attempt=attempt,
        now=at(3),
        position=position,
        context=values.pop("context", {"cursor": position}),
        progress=values.pop("progress", None),
        **values,
    )


# -- launching ------------------------------------------------------------------------------


def test_a_launch_creates_a_starting_execution_of_its_run(store: Store) -> None:
    run_id = launch(store, batch_run(day="d1", verbose=True))
    assert get(store, run_id).kind == "batch"
    ex = execution_of(store, run_id)
    assert ex.state is BatchState.STARTING
    assert ex.run_id == run_id
    assert ex.job == "etl"
    assert ex.args == {"day": "d1", "verbose": True}
    assert ex.restart_of is None
    assert ex.created_at == T0
    assert ex.started_at is None and ex.finished_at is None
    assert ex.run_state == "queued"
    assert ex.steps == []
    assert store.batch_get(ex.id) == ex
    assert store.batch_get(ex.id + 1000) is None
    assert store.batch_for_run(run_id + 1000) is None
    assert [e.id for e in store.batch_history(ex.instance_id)] == [ex.id]


def test_a_function_run_has_no_execution(store: Store) -> None:
    [inserted] = store.runs_insert_many(InsertParams([new_run()], T0))
    assert get(store, inserted.id).kind == "function"
    assert store.batch_for_run(inserted.id) is None
    assert store.batch_list(BatchListParams()) == []


def test_list_is_newest_first_with_filters_and_a_cursor(store: Store) -> None:
    a = execution_of(store, launch(store, batch_run(day="a")))
    b = execution_of(store, launch(store, batch_run("report", day="b")))
    c = execution_of(store, launch(store, batch_run(day="c")))
    assert store.batch_transition(
        BatchTransition(b.id, [BatchState.STARTING], BatchState.STARTED, at(1))
    )

    def ids(**kw: Any) -> list[int]:
        return [e.id for e in store.batch_list(BatchListParams(**kw))]

    assert ids() == [c.id, b.id, a.id]
    assert ids(job="etl") == [c.id, a.id]
    assert ids(states=[BatchState.STARTED]) == [b.id]
    assert ids(states=[BatchState.STARTED, BatchState.STARTING], job="etl") == [c.id, a.id]
    assert ids(before_id=c.id) == [b.id, a.id]
    assert ids(before_id=c.id, limit=1) == [b.id]
    assert ids(job="nope") == []


def test_a_second_launch_while_active_is_refused_and_stores_nothing(store: Store) -> None:
    first = launch(store)
    with pytest.raises(BatchConflict, match="starting"):
        launch(store, now=at(1))
    assert run_count(store) == 1
    assert len(store.batch_list(BatchListParams())) == 1
    # another instance of the same job is fine
    assert launch(store, batch_run(day="other")) != first


def test_a_batch_with_a_conflict_refuses_the_whole_launch(store: Store) -> None:
    launch(store)
    with pytest.raises(BatchConflict):
        store.runs_insert_many(InsertParams([new_run(), batch_run(day="x"), batch_run()], T0))
    assert run_count(store) == 1
    assert len(store.batch_list(BatchListParams())) == 1


def test_a_failed_execution_restarts_with_a_link_to_it(store: Store) -> None:
    first = launch(store)
    fail_run(store, first)
    second = launch(store, now=at(20))
    old, new = execution_of(store, first), execution_of(store, second)
    assert new.restart_of == old.id
    assert new.instance_id == old.instance_id
    assert new.state is BatchState.STARTING
    # the launch settled the old row as it effectively was
    assert old.state is BatchState.FAILED
    assert old.finished_at == at(20)
    assert [e.id for e in store.batch_history(old.instance_id)] == [old.id, new.id]


def test_a_completed_instance_never_runs_again(store: Store) -> None:
    ex = execution_of(store, launch(store))
    assert store.batch_transition(
        BatchTransition(ex.id, [BatchState.STARTING], BatchState.COMPLETED, at(1), finished=True)
    )
    with pytest.raises(BatchConflict, match="completed"):
        launch(store, now=at(2))
    assert run_count(store) == 1


def test_an_abandoned_instance_never_runs_again(store: Store) -> None:
    run_id = launch(store)
    fail_run(store, run_id)
    ex = execution_of(store, run_id)
    assert store.batch_transition(
        BatchTransition(
            ex.id, [BatchState.STARTING, BatchState.FAILED], BatchState.ABANDONED, at(11)
        )
    )
    with pytest.raises(BatchConflict, match="abandoned"):
        launch(store, now=at(12))
    assert run_count(store) == 1


def test_the_restart_limit(store: Store) -> None:
    fail_run(store, launch(store, batch_run(limit=1)))
    fail_run(store, launch(store, batch_run(limit=1), now=at(20)), now=at(30))
    with pytest.raises(BatchConflict, match="restart limit"):
        launch(store, batch_run(limit=1), now=at(40))
    assert run_count(store) == 2
    assert launch(store, batch_run(limit=None), now=at(50))  # no limit


def test_a_cancelled_run_no_longer_blocks_its_instance(store: Store) -> None:
    first = launch(store)
    assert store.runs_cancel(CancelParams([first], at(1))) == {first: RunState.CANCELLED}
    second = launch(store, now=at(2))
    old = execution_of(store, first)
    assert old.state is BatchState.STOPPED
    assert old.error == "its run ended cancelled"
    assert execution_of(store, second).restart_of == old.id


def test_relaunch_on_the_same_run(store: Store) -> None:
    run_id = launch(store)
    fail_run(store, run_id)
    first = execution_of(store, run_id)
    launch_rules = BatchLaunch(identity("etl", {"day": "2030-01-01"}), {"day": "2030-01-01"})
    new_id = store.batch_relaunch(run_id, launch_rules, at(20))
    again = execution_of(store, run_id)
    assert again.id == new_id and again.restart_of == first.id
    assert again.args == first.args
    with pytest.raises(LookupError):
        store.batch_relaunch(run_id + 1000, launch_rules, at(20))


# -- reconciling -----------------------------------------------------------------------------


def test_reconcile_ends_executions_whose_run_ended_or_vanished(store: Store) -> None:
    cancelled = launch(store, batch_run(day="c"))
    failing = launch(store, batch_run(day="f"))
    deleted = launch(store, batch_run(day="d"))
    alive = launch(store, batch_run(day="a"))
    for run_id in (cancelled, failing, deleted, alive):
        store.batch_step_start(StepStart(execution_of(store, run_id).id, "load", at(1)))
    store.runs_cancel(CancelParams([cancelled], at(2)))
    fail_run(store, failing, now=at(3))
    fail_run(store, deleted, now=at(4))
    assert store.runs_delete(deleted)

    assert store.batch_reconcile(at(5)) == 3
    assert store.batch_reconcile(at(6)) == 0

    stopped = execution_of(store, cancelled)
    assert stopped.state is BatchState.STOPPED and stopped.finished_at == at(5)
    assert [s.state for s in stopped.steps] == [BatchState.STOPPED]
    assert stopped.steps[0].finished_at == at(5)
    ended = execution_of(store, failing)
    assert ended.state is BatchState.FAILED and ended.error == "its run ended failed"
    assert [s.state for s in ended.steps] == [BatchState.FAILED]
    gone = execution_of(store, deleted)
    assert gone.state is BatchState.FAILED and gone.run_state is None
    assert gone.error == "its run was deleted"
    assert execution_of(store, alive).state is BatchState.STARTING


def test_reconcile_keeps_finished_steps(store: Store) -> None:
    run_id = launch(store)
    ex = execution_of(store, run_id)
    done = store.batch_step_start(StepStart(ex.id, "extract", at(1)))
    store.batch_step_finish(StepFinish(done.id, BatchState.COMPLETED, at(2), "COMPLETED"))
    store.batch_step_start(StepStart(ex.id, "load", at(3)))
    store.runs_cancel(CancelParams([run_id], at(4)))
    assert store.batch_reconcile(at(5)) == 1
    states = {s.name: s.state for s in execution_of(store, run_id).steps}
    assert states == {"extract": BatchState.COMPLETED, "load": BatchState.STOPPED}


# -- transitions and steps -------------------------------------------------------------------


def test_transition_is_a_compare_and_set(store: Store) -> None:
    ex = execution_of(store, launch(store))
    start = BatchTransition(ex.id, [BatchState.STARTING], BatchState.STARTED, at(1), started=True)
    assert store.batch_transition(start)
    assert not store.batch_transition(dataclasses.replace(start, now=at(2)))  # not starting now
    got = store.batch_get(ex.id)
    assert got is not None and got.state is BatchState.STARTED and got.started_at == at(1)

    end = BatchTransition(
        ex.id,
        [BatchState.STARTED, BatchState.STOPPING],
        BatchState.FAILED,
        at(3),
        started=True,
        finished=True,
        exit_status="FAILED",
        error="boom",
    )
    assert store.batch_transition(end)
    got = store.batch_get(ex.id)
    assert got is not None
    assert (got.state, got.started_at, got.finished_at) == (BatchState.FAILED, at(1), at(3))
    assert (got.exit_status, got.error) == ("FAILED", "boom")
    # None keeps what is there
    keep = BatchTransition(ex.id, [BatchState.FAILED], BatchState.FAILED, at(4))
    assert store.batch_transition(keep)
    got = store.batch_get(ex.id)
    assert got is not None and (got.exit_status, got.error, got.finished_at) == (
        "FAILED",
        "boom",
        at(3),
    )
    missing = BatchTransition(ex.id + 1000, [BatchState.FAILED], BatchState.STOPPED, at(5))
    assert not store.batch_transition(missing)


def test_step_start_resumes_the_existing_row(store: Store) -> None:
    run_id, ex_id, step = running_step(store)
    assert step.state is BatchState.STARTED and step.started_at == at(2)
    assert (step.partition, step.position, step.context, step.read) == (-1, 0, {}, 0)
    assert step.run_id is None and step.run_state is None
    assert store.batch_chunk_commit(chunk(step.id, run_id, position=10)) is BatchState.STARTED

    again = store.batch_step_start(StepStart(ex_id, "load", at(50)))  # a new node resumes
    assert again.id == step.id
    assert again.started_at == at(2)
    assert (again.read, again.written, again.skipped, again.commits) == (10, 9, 1, 1)
    assert (again.position, again.context) == (10, {"cursor": 10})
    assert again.state is BatchState.STARTED


def test_step_start_never_reopens_a_finished_step(store: Store) -> None:
    _, ex_id, step = running_step(store)
    store.batch_step_finish(
        StepFinish(step.id, BatchState.COMPLETED, at(5), "DONE", None, rollbacks=2)
    )
    again = store.batch_step_start(StepStart(ex_id, "load", at(6)))
    assert again.id == step.id
    assert again.state is BatchState.COMPLETED
    assert (again.exit_status, again.rollbacks, again.finished_at) == ("DONE", 2, at(5))
    other = store.batch_step_start(StepStart(ex_id, "load", at(7), partition=0))
    assert other.id != step.id and other.partition == 0


def test_step_start_with_a_state_and_counts(store: Store) -> None:
    ex = execution_of(store, launch(store))
    waiting = store.batch_step_start(
        StepStart(ex.id, "w", at(1), state=BatchState.STARTING, partition_args={"p": 1})
    )
    assert waiting.started_at is None and waiting.partition_args == {"p": 1}
    copied = store.batch_step_start(
        StepStart(
            ex.id,
            "c",
            at(1),
            position=7,
            context={"k": "v"},
            state=BatchState.COMPLETED,
            counts=(7, 6, 1, 0, 2),
        )
    )
    assert copied.finished_at == at(1) and copied.position == 7
    assert (copied.read, copied.written, copied.skipped, copied.filtered, copied.commits) == (
        7,
        6,
        1,
        0,
        2,
    )
    got = store.batch_get(ex.id)
    assert got is not None and [s.name for s in got.steps] == ["w", "c"]


# -- chunks ----------------------------------------------------------------------------------


@pytest.fixture
def chunks_table(store: Store, database_url: str) -> Iterator[Any]:
    """A user table in rota's database; yields a function counting its rows."""
    conn = _raw(store, database_url)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {CHUNKS} (n INTEGER NOT NULL)")
    conn.commit()

    def count() -> int:
        conn.rollback()
        return int(conn.execute(f"SELECT count(*) FROM {CHUNKS}").fetchone()[0])

    try:
        yield count
    finally:
        conn.rollback()
        conn.close()


def _raw(store: Store, database_url: str) -> Any:
    if store.backend == "sqlite":
        return sqlite3.connect(database_url.removeprefix("sqlite:///"))
    import psycopg

    return psycopg.connect(database_url)


def test_chunk_commit_adds_counts_and_checkpoints(store: Store) -> None:
    run_id, ex_id, step = running_step(store)
    first = chunk(step.id, run_id, position=10, progress={"done": 10})
    assert store.batch_chunk_commit(first) is BatchState.STARTED
    store.batch_transition(BatchTransition(ex_id, [BatchState.STARTED], BatchState.STOPPING, at(4)))
    second = chunk(step.id, run_id, position=20, read=10, written=5, filtered=5, skipped=0)
    assert store.batch_chunk_commit(second) is BatchState.STOPPING  # the runner stops
    [got] = execution_of(store, run_id).steps
    assert (got.read, got.written, got.skipped, got.filtered, got.commits) == (20, 14, 1, 5, 2)
    assert (got.position, got.context) == (20, {"cursor": 20})
    assert get(store, run_id).progress == {"done": 10}  # the second chunk sent none


def test_chunk_commit_is_refused_without_the_attempt(store: Store) -> None:
    run_id, _, step = running_step(store)
    calls: list[Any] = []
    assert store.batch_chunk_commit(chunk(step.id, run_id, attempt=2), calls.append) is None
    run = get(store, run_id)
    store.runs_finish(FinishParams([succeeded(run, at(5))]))
    assert store.batch_chunk_commit(chunk(step.id, run_id, progress={"x": 1}), calls.append) is None
    assert calls == []
    [got] = execution_of(store, run_id).steps
    assert (got.read, got.commits, got.position, got.context) == (0, 0, 0, {})
    assert get(store, run_id).progress is None


def test_chunk_commit_is_refused_before_the_run_is_claimed(store: Store) -> None:
    run_id = launch(store)
    step = store.batch_step_start(StepStart(execution_of(store, run_id).id, "load", at(1)))
    assert store.batch_chunk_commit(chunk(step.id, run_id)) is None
    assert store.batch_chunk_commit(chunk(step.id, run_id, attempt=0)) is None


def test_a_transactional_write_commits_with_the_chunk(store: Store, chunks_table: Any) -> None:
    run_id, _, step = running_step(store)

    def write(conn: Any) -> None:
        for n in range(3):
            conn.execute(f"INSERT INTO {CHUNKS} (n) VALUES ({n})")

    assert store.batch_chunk_commit(chunk(step.id, run_id), write) is BatchState.STARTED
    assert chunks_table() == 3

    def broken(conn: Any) -> None:
        write(conn)
        raise RuntimeError("the writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        store.batch_chunk_commit(chunk(step.id, run_id, position=20, progress={"n": 2}), broken)
    assert chunks_table() == 3
    [got] = execution_of(store, run_id).steps
    assert (got.position, got.commits) == (10, 1)
    assert get(store, run_id).progress is None
    # the store's connection is usable afterwards
    assert store.batch_chunk_commit(chunk(step.id, run_id, position=30), write) is not None
    assert chunks_table() == 6


# -- partitions ------------------------------------------------------------------------------


def _partitions(ex_id: int, *, completed: bool = True) -> PartitionsParams:
    def child(i: int) -> NewRun:
        return dataclasses.replace(new_run("etl", args={"partition": i}), kind="batch")

    parts = [NewPartition(i, {"range": [i * 10, i * 10 + 10]}, child(i)) for i in range(2)]
    if completed:
        parts.append(
            NewPartition(
                2,
                {"range": [20, 30]},
                None,
                position=10,
                context={"at": 30},
                state=BatchState.COMPLETED,
                counts=(10, 10, 0, 0, 1),
            )
        )
    return PartitionsParams(ex_id, "load", at(5), parts)


def test_partitions_are_created_with_their_runs_once(store: Store) -> None:
    manager = launch(store)
    ex = execution_of(store, manager)
    rows = store.batch_partitions_create(_partitions(ex.id))
    assert [r.partition for r in rows] == [0, 1, 2]
    assert [r.partition_args for r in rows] == [
        {"range": [0, 10]},
        {"range": [10, 20]},
        {"range": [20, 30]},
    ]
    assert [r.state for r in rows] == [
        BatchState.STARTING,
        BatchState.STARTING,
        BatchState.COMPLETED,
    ]
    assert [r.run_state for r in rows] == ["queued", "queued", None]
    children = [r.run_id for r in rows[:2]]
    assert None not in children and manager not in children
    for n, run_id in enumerate(children):
        assert run_id is not None
        child = get(store, run_id)
        assert (child.kind, child.args) == ("batch", {"partition": n})
        assert store.batch_for_run(run_id) is None  # a partition's run carries no execution
    copied = rows[2]
    assert copied.run_id is None and copied.finished_at == at(5)
    assert (copied.read, copied.written, copied.commits) == (10, 10, 1)
    assert (copied.position, copied.context) == (10, {"at": 30})
    assert rows[0].started_at is None
    assert run_count(store) == 3

    again = store.batch_partitions_create(dataclasses.replace(_partitions(ex.id), now=at(9)))
    assert again == rows
    assert store.batch_partitions(ex.id, "load") == rows
    assert store.batch_partitions(ex.id, "other") == []
    assert run_count(store) == 3
    got = store.batch_get(ex.id)
    assert got is not None and [s.partition for s in got.steps] == [0, 1, 2]


def test_partitions_of_another_step_are_separate(store: Store) -> None:
    ex = execution_of(store, launch(store))
    store.batch_step_start(StepStart(ex.id, "load", at(1)))  # the manager's own row
    first = store.batch_partitions_create(_partitions(ex.id, completed=False))
    other = store.batch_partitions_create(
        dataclasses.replace(_partitions(ex.id, completed=False), name="export")
    )
    assert len(first) == len(other) == 2
    assert {r.id for r in first}.isdisjoint(r.id for r in other)
    assert run_count(store) == 5


# -- concurrency and the caller's transaction ------------------------------------------------


def test_concurrent_launches_of_one_instance_create_one_execution(store: Store) -> None:
    launchers = 8
    start = threading.Barrier(launchers)
    created: list[Inserted] = []
    conflicts: list[BatchConflict] = []
    problems: list[BaseException] = []

    def launcher() -> None:
        own = open_store(store.url)
        try:
            start.wait(timeout=30)
            created.extend(own.runs_insert_many(InsertParams([batch_run()], T0)))
        except BatchConflict as exc:
            conflicts.append(exc)
        except BaseException as exc:  # reported below
            problems.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=launcher) for _ in range(launchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert problems == []
    assert len(created) == 1 and len(conflicts) == launchers - 1
    assert run_count(store) == 1
    [ex] = store.batch_list(BatchListParams())
    assert ex.run_id == created[0].id


def test_a_launch_inside_the_callers_transaction(store: Store, database_url: str) -> None:
    conn = _raw(store, database_url)
    try:
        [rolled] = store.runs_insert_many(InsertParams([batch_run()], T0, conn))
        conn.rollback()
        assert store.runs_get(rolled.id) is None
        assert store.batch_list(BatchListParams()) == []
        [kept] = store.runs_insert_many(InsertParams([batch_run()], T0, conn))
        conn.commit()
        assert execution_of(store, kept.id).state is BatchState.STARTING
        with pytest.raises(BatchConflict):  # the caller's connection sees the same rules
            store.runs_insert_many(InsertParams([batch_run()], at(1), conn))
        conn.commit()  # a caller that catches the refusal and commits stores no orphan run
        assert run_count(store) == 1
        fail_run(store, kept.id)
        [again] = store.runs_insert_many(InsertParams([batch_run()], at(20), conn))
        conn.commit()
        assert execution_of(store, again.id).restart_of == execution_of(store, kept.id).id
    finally:
        conn.close()
    assert run_count(store) == 2


def test_one_instance_twice_in_one_launch_is_refused(store: Store) -> None:
    with pytest.raises(BatchConflict, match="twice"):
        store.runs_insert_many(InsertParams([batch_run(), batch_run()], T0))
    assert run_count(store) == 0


def test_chunk_commit_is_refused_once_the_execution_ended(store: Store) -> None:
    """A partition still running after its execution failed commits nothing more."""
    run_id, ex_id, step = running_step(store)
    end = BatchTransition(ex_id, [BatchState.STARTED], BatchState.FAILED, at(4), finished=True)
    assert store.batch_transition(end)
    assert store.batch_chunk_commit(chunk(step.id, run_id)) is None
    [got] = execution_of(store, run_id).steps
    assert got.commits == 0


def test_runner_writes_are_fenced_by_the_holder(store: Store) -> None:
    """Chunk commits, step ends and execution ends of an attempt that no longer holds its run
    (another attempt, or the same attempt number on another node) write nothing."""
    run_id, ex_id, step = running_step(store)
    node = get(store, run_id).node_id
    assert node is not None
    assert (
        store.batch_chunk_commit(dataclasses.replace(chunk(step.id, run_id), node_id="other"))
        is None
    )
    assert store.batch_chunk_commit(dataclasses.replace(chunk(step.id, run_id), node_id=node))
    stale = Holder(run_id, 1, "other")
    done = StepFinish(step.id, BatchState.FAILED, at(5), "FAILED", "late", 0, stale)
    assert not store.batch_step_finish(done)
    end = BatchTransition(
        ex_id, [BatchState.STARTED], BatchState.FAILED, at(5), finished=True, holder=stale
    )
    assert not store.batch_transition(end)
    assert execution_of(store, run_id).state is BatchState.STARTED
    holder = Holder(run_id, 1, node)
    assert store.batch_step_finish(dataclasses.replace(done, holder=holder))
    assert store.batch_transition(dataclasses.replace(end, holder=holder))
    got = execution_of(store, run_id)
    assert got.state is BatchState.FAILED and got.steps[0].state is BatchState.FAILED


def test_live_partitions_block_a_restart(store: Store) -> None:
    run_id, ex_id, _ = running_step(store)
    store.batch_partitions_create(_partitions(ex_id, completed=False))
    end = BatchTransition(ex_id, [BatchState.STARTED], BatchState.FAILED, at(6), finished=True)
    assert store.batch_transition(end)
    run = get(store, run_id)
    store.runs_finish(FinishParams([failed(run, at(7))]))
    with pytest.raises(BatchConflict, match="partition run"):
        store.runs_insert_many(InsertParams([batch_run()], at(8)))


def test_a_retried_commit_that_went_through_is_not_applied_twice(store: Store) -> None:
    """The connection died during COMMIT but the server committed: the retry is recognised
    (by the commit count it expected) and changes nothing; a stale holder's is refused."""
    run_id, _, step = running_step(store)
    node = get(store, run_id).node_id
    first = dataclasses.replace(chunk(step.id, run_id), node_id=node, expected_commits=0)
    assert store.batch_chunk_commit(first) is BatchState.STARTED
    assert store.batch_chunk_commit(first) is BatchState.STARTED  # the retry: recognised
    [got] = execution_of(store, run_id).steps
    assert (got.read, got.commits, got.position) == (10, 1, 10)
    second = dataclasses.replace(first, position=20, expected_commits=1)
    assert store.batch_chunk_commit(second) is BatchState.STARTED
    stale = dataclasses.replace(first, node_id="elsewhere")
    assert store.batch_chunk_commit(stale) is None
    out_of_date = dataclasses.replace(first, expected_commits=0, position=10)
    assert store.batch_chunk_commit(out_of_date) is None  # not the latest commit any more
    [got] = execution_of(store, run_id).steps
    assert (got.read, got.commits, got.position) == (20, 2, 20)
