"""Workflows across real worker processes, on SQLite and PostgreSQL: results passed on, steps
in parallel, a failure repaired by retrying its step, cancel, a scheduled ``@app.workflow``,
a fan-in released exactly once under concurrent upstreams, a killed worker's step rescued,
refusals storing nothing, and the limited claim path settling what it finishes."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import rota
from tests.integration.procs import Marks, wait_started
from tests.integration.wfapp import build_app, executions
from tests.support import Process, Processes, spawn, wait_until

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """\
import logging
import sys

sys.path.insert(0, {root!r})
from tests.integration.wfapp import build_app

logging.basicConfig(
    level=logging.INFO,
    stream=sys.stderr,
    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
)
app = build_app({database!r}, {marks!r}, lease_seconds={lease!r}, limited={limited!r})
app.serve_forever(
    lambda: app.start(scheduler={scheduler!r}, concurrency={concurrency!r}),
    details=app.worker_details(None, {concurrency!r}),
)
"""


class Workers(Processes):
    def __init__(self, workdir: Path, database: str, marks: Path) -> None:
        super().__init__()
        self.workdir, self.database, self.marks = workdir, database, marks

    def start(
        self,
        n: int = 1,
        *,
        concurrency: int = 4,
        limited: bool = False,
        scheduler: bool = False,
        lease: float = 2.0,
    ) -> list[Process]:
        started = []
        for _ in range(n):
            name = f"wfworker{len(self.spawned) + 1}"
            script = self.workdir / f"{name}.py"
            script.write_text(
                SCRIPT.format(
                    root=str(ROOT),
                    database=self.database,
                    marks=str(self.marks),
                    lease=float(lease),
                    limited=limited,
                    scheduler=scheduler,
                    concurrency=concurrency,
                )
            )
            log = self.workdir / f"{name}.log"
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            popen = spawn([sys.executable, str(script)], log, cwd=self.workdir, env=env)
            started.append(self.add(Process(name, popen, log)))
        for p in started:
            wait_started(p)
        return started


@pytest.fixture
def app(database_url: str, marks: Marks) -> Iterator[rota.App]:
    """The test's app (it never runs a worker): every job, the limited one too."""
    a = build_app(database_url, marks.path, limited=True)
    a.store  # noqa: B018 - create the schema before any worker starts
    yield a
    a.close()


@pytest.fixture
def workers(tmp_path: Path, database_url: str, marks: Marks, app: rota.App) -> Iterator[Workers]:
    w = Workers(tmp_path, database_url, marks.path)
    try:
        yield w
    finally:
        w.cleanup()
        print(w.logs())


def wait_ended(app: rota.App, wf_id: int, timeout: float = 30) -> rota.WorkflowRecord:
    def ended() -> rota.WorkflowRecord | None:
        record = app.workflows.show(wf_id)
        return record if record.state.terminal else None

    return wait_until(ended, timeout, f"workflow {wf_id} to end")


def ran(marks: Marks, job: str) -> list[int]:
    """The run ids of the job's executions, in the order they ended."""
    return [e.run_id for e in executions(marks.path) if e.job == job]


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_a_chain_passes_each_result_on(app: rota.App, workers: Workers) -> None:
    workers.start(concurrency=2)
    num, add = app.get_job("wf_num"), app.get_job("wf_add")
    handle = rota.chain((num, {"n": 1}), (add, {"k": 10}), (add, {"k": 100})).enqueue()
    assert handle.result(timeout=30) == {"wf_num": 1, "wf_add": 11, "wf_add-2": 111}
    record = handle.workflow()
    assert [(s.name, s.after) for s in record.steps] == [
        ("wf_num", ()),
        ("wf_add", ("wf_num",)),
        ("wf_add-2", ("wf_add",)),
    ]
    runs = [app.runs.get(s.run_id) for s in record.steps]
    assert [(r.workflow, r.step, r.attempt) for r in runs] == [
        (handle.id, s.name, 1) for s in record.steps
    ]
    ends = [r.finished_at for r in runs]
    starts = [r.started_at for r in runs]
    assert all(e is not None for e in ends)
    assert starts[1] >= ends[0] and starts[2] >= ends[1]  # type: ignore[operator]


def test_a_group_runs_its_steps_in_parallel_then_its_callback(
    app: rota.App, workers: Workers, marks: Marks
) -> None:
    workers.start(2, concurrency=2)
    sleep = app.get_job("wf_sleep")
    steps = [(sleep, {"tag": f"t{i}", "seconds": 0.5}) for i in range(6)]
    handle = rota.group(*steps, then=app.get_job("wf_gather")).enqueue()
    result = handle.result(timeout=30)
    assert result["wf_gather"] == [f"t{i}" for i in range(6)]
    slept = [e for e in executions(marks.path) if e.job == "wf_sleep"]
    assert len(slept) == 6
    assert most_at_once([(e.start, e.end) for e in slept]) >= 3  # more than one process holds
    assert len({e.pid for e in slept}) == 2  # in both worker processes
    [gather] = [e for e in executions(marks.path) if e.job == "wf_gather"]
    assert gather.start >= max(e.end for e in slept)
    assert gather.note == "6"


def test_a_dag_failing_in_the_middle_is_repaired_by_retrying_the_failed_step(
    app: rota.App, workers: Workers, marks: Marks
) -> None:
    wf = rota.Workflow("repair")
    wf.add("a", "wf_num", {"n": 1})
    wf.add("b", "wf_flaky", {"tag": "b"}, after=["a"])
    wf.add("c", "wf_num", {"n": 3}, after=["a"])
    wf.add("d", "wf_gather", after=["b", "c"])
    wf.add("e", "wf_add", {"k": 0}, after=["c"])
    wf.add("f", "wf_gather", after=["d", "e"])
    handle = wf.enqueue(app)
    workers.start(concurrency=2)
    with pytest.raises(rota.RunFailed):
        handle.result(timeout=30)
    record = handle.workflow()
    assert record.state is rota.WorkflowState.FAILED
    states = {s.name: s.state.value for s in record.steps}
    assert states == {
        "a": "succeeded",
        "b": "failed",
        "c": "succeeded",
        "d": "cancelled",
        "e": "succeeded",
        "f": "cancelled",
    }
    d = app.runs.get(record.step("d").run_id)
    assert [(x["type"], x["message"]) for x in d.errors] == [
        ("UpstreamFailed", "upstream step 'b' failed")
    ]
    (marks.path / "fixed-b").write_text("")
    assert app.runs.retry([record.step("b").run_id]) == [record.step("b").run_id]
    result = handle.result(timeout=30)
    assert (result["b"], result["d"], result["e"]) == ("b", ["3", "b"], 3)
    done = handle.workflow()
    assert done.state is rota.WorkflowState.SUCCEEDED
    counts = Counter(e.run_id for e in executions(marks.path))
    by_step = {s.name: counts[s.run_id] for s in done.steps}
    assert by_step == {"a": 1, "b": 2, "c": 1, "d": 1, "e": 1, "f": 1}  # succeeded: not again


def test_cancel_of_a_running_workflow(app: rota.App, workers: Workers, marks: Marks) -> None:
    wf = rota.Workflow("to-cancel")
    wf.add("hold", "wf_wait_cancel")
    wf.add("next", "wf_num", {"n": 1}, after=["hold"])
    handle = wf.enqueue(app)
    workers.start(concurrency=2)
    hold = handle.workflow().step("hold").run_id
    wait_until(lambda: marks.pid("wf_wait_cancel", hold, 1), 20, "the step to start")
    assert handle.cancel() is rota.WorkflowState.RUNNING  # the running step is asked to stop
    assert handle.workflow().step("next").state is rota.RunState.CANCELLED
    record = wait_ended(app, handle.id)
    assert record.state is rota.WorkflowState.CANCELLED
    assert {s.state for s in record.steps} == {rota.RunState.CANCELLED}
    assert [e.note for e in executions(marks.path) if e.job == "wf_wait_cancel"] == ["cancelled"]
    assert ran(marks, "wf_num") == []
    with pytest.raises(rota.RunFailed):
        handle.result(timeout=1)


def test_a_scheduled_workflow_job_enqueues_its_workflow(app: rota.App, workers: Workers) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)  # late, it still fires once (run_once)
    app.add_schedule("nightly", "wf_nightly", at=soon, kwargs={"n": 5})
    workers.start(scheduler=True)
    [summary] = wait_until(lambda: app.workflows.list(), 30, "a workflow to be enqueued")
    record = wait_ended(app, summary.id)
    assert record.state is rota.WorkflowState.SUCCEEDED
    assert record.name == "nightly"
    assert [s.result for s in record.steps] == [5, 6]
    assert record.parent_run_id is not None
    parent = app.runs.get(record.parent_run_id)
    assert (parent.job, parent.schedule, parent.state) == (
        "wf_nightly",
        "nightly",
        rota.RunState.SUCCEEDED,
    )
    assert parent.result == record.id


def fan_in(app: rota.App, width: int, job: str = "wf_leaf") -> rota.Workflow:
    wf = rota.Workflow("fan-in")
    leaves = [wf.add(f"leaf{i}", job, {"i": i}) for i in range(width)]
    wf.add("all", "wf_fanin", after=leaves)
    return wf


def check_fan_in(app: rota.App, marks: Marks, wf_id: int, width: int) -> None:
    record = wait_ended(app, wf_id, 60)
    assert record.state is rota.WorkflowState.SUCCEEDED
    fanin = record.step("all")
    assert fanin.result == {"count": width, "sum": sum(range(width))}
    done = executions(marks.path)
    assert [e.run_id for e in done].count(fanin.run_id) == 1  # released and run exactly once
    [last] = [e for e in done if e.run_id == fanin.run_id]
    leaves = {s.run_id for s in record.steps if s.name.startswith("leaf")}
    leaf_ends = [e.end for e in done if e.run_id in leaves]
    assert len(leaf_ends) == width
    assert last.start >= max(leaf_ends)
    assert app.runs.get(fanin.run_id).attempt == 1


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # SQLite serializes writers
@pytest.mark.parametrize("limited", [False, True], ids=["plain-claim", "limited-claim"])
def test_fifty_upstreams_ending_at_once_release_their_fan_in_once(
    app: rota.App, workers: Workers, marks: Marks, limited: bool
) -> None:
    """Upstreams ending in three processes at once settle their fan-in concurrently: each
    settle locks it, so the last one to commit sees every other upstream succeeded. (Without
    the lock each saw the others still running, and it never ran: this test timed out.)"""
    workers.start(3, concurrency=8, limited=limited)  # all waiting when the leaves come
    handles = [fan_in(app, 50).enqueue(app) for _ in range(3)]
    for h in handles:
        check_fan_in(app, marks, h.id, 50)
    pids = {e.pid for e in executions(marks.path) if e.job == "wf_leaf"}
    assert len(pids) == 3  # the leaves ended in three processes


def test_workers_serving_limited_jobs_release_the_steps_after_theirs(
    app: rota.App, workers: Workers, marks: Marks
) -> None:
    """Every claim of a worker defining a limited job is the limited claim: it finishes the
    steps of the previous cycle, limited or not, and must settle them (postgres/limits.py)."""
    wf = fan_in(app, 6, job="wf_limited")
    wf.add("after", "wf_gather", after=["all"])  # a plain step after a plain step
    handle = wf.enqueue(app)
    workers.start(2, concurrency=4, limited=True)
    check_fan_in(app, marks, handle.id, 6)
    record = wait_ended(app, handle.id)
    assert record.state is rota.WorkflowState.SUCCEEDED
    limited = [e for e in executions(marks.path) if e.job == "wf_limited"]
    assert most_at_once([(e.start, e.end) for e in limited]) <= 2


def test_a_killed_workers_step_is_rescued_and_the_workflow_completes(
    app: rota.App, workers: Workers, marks: Marks
) -> None:
    wf = rota.Workflow("crash")
    wf.add("a", "wf_num", {"n": 1})
    wf.add("b", "wf_hang_first", after=["a"])
    wf.add("c", "wf_num", {"n": 3}, after=["b"])
    handle = wf.enqueue(app)
    procs = workers.start(2, concurrency=2)
    b = handle.workflow().step("b").run_id
    pid = wait_until(lambda: marks.pid("wf_hang_first", b, 1), 20, "b to start")
    [victim] = [p for p in procs if p.pid == pid]
    assert victim.kill9() == -signal.SIGKILL
    record = wait_ended(app, handle.id, 60)
    assert record.state is rota.WorkflowState.SUCCEEDED
    run = app.runs.get(b)
    assert run.attempt == 2
    assert [e["type"] for e in run.errors] == ["WorkerLost"]
    assert record.step("b").result == 2
    assert Counter(ran(marks, "wf_num")) == Counter(
        [record.step("a").run_id, record.step("c").run_id]
    )


def rows(database_url: str) -> tuple[int, int]:
    """Rows in rota_runs and rota_workflows, read through a connection of the test's own."""
    sql = ["SELECT count(*) FROM rota_runs", "SELECT count(*) FROM rota_workflows"]
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            a, b = (int(conn.execute(s).fetchone()[0]) for s in sql)
        finally:
            conn.close()
        return a, b
    import psycopg

    with psycopg.connect(database_url) as pg:
        a, b = (int(pg.execute(s).fetchone()[0]) for s in sql)  # type: ignore[index]
    return a, b


def test_a_bad_workflow_is_refused_naming_the_step_and_stores_nothing(
    app: rota.App, database_url: str
) -> None:
    def base() -> rota.Workflow:
        wf = rota.Workflow("bad")
        wf.add("ok", "wf_num", {"n": 1})
        wf.add("next", "wf_add", {"k": 2}, after=["ok"])
        return wf

    bad_args = base()
    bad_args.add("late", "wf_num", {"n": "not a number"}, after=["next"])
    missing_arg = base()
    missing_arg.add("bare", "wf_num", after=["ok"])
    cycle = base()
    cycle.add("x", "wf_num", {"n": 1}, after=["y"])
    cycle.add("y", "wf_num", {"n": 1}, after=["x"])
    unknown_step = base()
    unknown_step.add("lost", "wf_num", {"n": 1}, after=["nowhere"])
    duplicate = base()
    duplicate.add("ok", "wf_num", {"n": 2})
    cases = [
        (bad_args, "'late'"),
        (missing_arg, "'bare'"),
        (cycle, "'x'"),
        (unknown_step, "'lost'"),
        (duplicate, "'ok'"),
    ]
    for wf, step in cases:
        with pytest.raises(rota.InvalidArguments, match=step):
            wf.enqueue(app)
        assert rows(database_url) == (0, 0), step
    unknown_job = base()
    unknown_job.add("ghost", "no_such_job", after=["ok"])
    with pytest.raises(rota.UnknownJob, match="ghost"):
        unknown_job.enqueue(app)
    assert rows(database_url) == (0, 0)
    base().enqueue(app)  # the same workflow, well formed, is stored
    assert rows(database_url) == (2, 1)


def test_a_workflow_enqueued_in_the_callers_transaction(
    app: rota.App, workers: Workers, database_url: str
) -> None:
    """``enqueue(connection=)``: rolled back, nothing is stored; committed, it runs."""

    def connect() -> object:
        if database_url.startswith("sqlite"):
            return sqlite3.connect(database_url.removeprefix("sqlite:///"))
        import psycopg

        return psycopg.connect(database_url)

    num, add = app.get_job("wf_num"), app.get_job("wf_add")
    conn: Any = connect()
    try:
        rota.chain((num, {"n": 2}), (add, {"k": 3})).enqueue(connection=conn)
        conn.rollback()
        assert rows(database_url) == (0, 0)
        handle = rota.chain((num, {"n": 2}), (add, {"k": 3})).enqueue(connection=conn)
        assert rows(database_url) == (0, 0)  # not before the commit
        conn.commit()
    finally:
        conn.close()
    assert rows(database_url) == (2, 1)
    workers.start(concurrency=2)
    assert handle.result(timeout=30) == {"wf_num": 2, "wf_add": 5}
