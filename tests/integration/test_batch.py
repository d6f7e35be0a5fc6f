"""Batch jobs end to end in one process (``app.drain``), on SQLite and PostgreSQL.

Output goes through the restartable JSON Lines writer into a real file, so "every item
written exactly once" is checked on what a user would read.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rota
from rota import batch
from rota.errors import BatchConflict


class Knobs:
    """What the test changes between executions: where items fail, how often."""

    def __init__(self) -> None:
        self.fail_at: set[int] = set()
        self.skip_at: set[int] = set()
        self.transient: dict[int, int] = {}  # item -> failures left (TimeoutError in writer)
        self.count = 95


@pytest.fixture
def knobs() -> Knobs:
    return Knobs()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.jsonl"


@pytest.fixture
def app(database_url: str, knobs: Knobs, out: Path) -> Iterator[rota.App]:
    a = rota.App(database=database_url, name="batch-tests")

    def process(i: int) -> dict[str, int] | None:
        if i in knobs.fail_at:
            raise RuntimeError(f"item {i} is broken")
        if i in knobs.skip_at:
            raise ValueError(f"item {i} is invalid")
        return None if i % 10 == 3 else {"i": i}  # every 10th+3 is filtered out

    def flaky_write(items: list[dict[str, int]]) -> None:
        for item in items:
            left = knobs.transient.get(item["i"], 0)
            if left:
                knobs.transient[item["i"]] = left - 1
                raise TimeoutError(f"item {item['i']}: the sink timed out")

    class FlakyJsonl(batch.JsonLinesWriter):
        def __call__(self, items: list[Any]) -> None:
            flaky_write(items)
            super().__call__(items)

    def prepare(ctx: batch.StepContext) -> None:
        ctx.state["prepared"] = ctx.state.get("prepared", 0) + 1

    @a.batch
    def numbers(tag: str) -> batch.Flow:
        return batch.Flow(
            [
                batch.tasklet("prepare", prepare),
                batch.chunk(
                    "load",
                    reader=batch.IterableReader(lambda: range(knobs.count)),
                    processor=process,
                    writer=FlakyJsonl(out),
                    size=10,
                    skip_on=(ValueError,),
                    skip_limit=2,
                    retry_on=(TimeoutError,),
                    retry_limit=2,
                ),
            ]
        )

    yield a
    a.close()


def written(out: Path) -> list[int]:
    return [json.loads(line)["i"] for line in out.read_text().splitlines()]


def expected(count: int, skipped: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
    return [i for i in range(count) if i % 10 != 3 and i not in skipped]


def execution_of(app: rota.App, run_id: int) -> batch.BatchExecution:
    found = app.batches.for_run(run_id)
    assert found is not None
    return found


def step(execution: batch.BatchExecution, name: str) -> batch.StepExecution:
    return next(s for s in execution.steps if s.name == name and s.partition < 0)


def test_a_clean_run_completes_with_counts(app: rota.App, out: Path) -> None:
    handle = app.get_job("numbers").enqueue(tag="a")
    assert app.runs.get(handle.id).max_attempts == 1
    assert app.drain() == {"succeeded": 1}
    ex = execution_of(app, handle.id)
    assert ex.state == "completed"
    load = step(ex, "load")
    assert (load.read, load.written, load.filtered, load.skipped) == (95, 85, 10, 0)
    assert load.commits == 10  # 9 full chunks and the last 5 items
    assert written(out) == expected(95)
    progress = app.runs.get(handle.id).progress
    assert progress is not None and (progress["done"], progress["total"]) == (95, 95)
    assert progress["message"] == "step load (2/2): 85 written"


def test_failure_at_item_k_then_restart_writes_every_item_once(
    app: rota.App, knobs: Knobs, out: Path
) -> None:
    knobs.fail_at = {57}
    handle = app.get_job("numbers").enqueue(tag="k")
    assert app.drain() == {"failed": 1}
    first = execution_of(app, handle.id)
    assert first.state == "failed"
    load = step(first, "load")
    assert load.state == "failed" and "item 57 is broken" in (load.error or "")
    assert load.read == 50 and load.commits == 5  # the chunk holding item 57 rolled back
    assert written(out) == expected(50)
    assert step(first, "prepare").state == "completed"

    knobs.fail_at = set()
    second = app.batches.restart(first.id)
    assert second.restart_of == first.id and second.id != first.id
    assert app.drain() == {"succeeded": 1}
    second = app.batches.get(second.id)
    assert second.state == "completed"
    assert [s.name for s in second.steps] == ["load"]  # the completed tasklet was skipped
    load2 = step(second, "load")
    assert load2.read == 45  # resumed after the last committed chunk: items 50..94
    assert written(out) == expected(95)


def test_completed_instance_is_refused_and_nothing_is_stored(app: rota.App) -> None:
    job = app.get_job("numbers")
    job.enqueue(tag="done")
    app.drain()
    before = len(app.runs.list())
    with pytest.raises(BatchConflict, match="already completed"):
        job.enqueue(tag="done")
    assert len(app.runs.list()) == before
    job.enqueue(tag="other")  # another instance is fine


def test_launch_while_an_execution_is_active_is_refused(app: rota.App) -> None:
    job = app.get_job("numbers")
    job.enqueue(tag="busy")
    with pytest.raises(BatchConflict, match="starting"):
        job.enqueue(tag="busy")


def test_skips_within_the_limit_complete(app: rota.App, knobs: Knobs, out: Path) -> None:
    knobs.skip_at = {5, 66}
    handle = app.get_job("numbers").enqueue(tag="skips")
    assert app.drain() == {"succeeded": 1}
    load = step(execution_of(app, handle.id), "load")
    assert (load.skipped, load.written) == (2, 83)
    assert written(out) == expected(95, {5, 66})


def test_skip_limit_reached_fails_the_step(app: rota.App, knobs: Knobs) -> None:
    knobs.skip_at = {5, 16, 27}
    handle = app.get_job("numbers").enqueue(tag="too-many")
    assert app.drain() == {"failed": 1}
    ex = execution_of(app, handle.id)
    load = step(ex, "load")
    assert ex.state == "failed" and load.state == "failed"
    assert "skip limit 2 exceeded" in (load.error or "")
    assert load.skipped == 2 and load.read == 20  # the third skip's chunk never committed


def test_transient_writer_error_is_retried(app: rota.App, knobs: Knobs, out: Path) -> None:
    knobs.transient = {12: 2, 40: 1}  # two retries allowed: both recover
    handle = app.get_job("numbers").enqueue(tag="flaky")
    assert app.drain() == {"succeeded": 1}
    assert written(out) == expected(95)
    assert knobs.transient == {12: 0, 40: 0}
    assert execution_of(app, handle.id).state == "completed"


def test_writer_error_past_the_retry_limit_fails(app: rota.App, knobs: Knobs) -> None:
    knobs.transient = {12: 3}
    handle = app.get_job("numbers").enqueue(tag="down")
    assert app.drain() == {"failed": 1}
    load = step(execution_of(app, handle.id), "load")
    assert "TimeoutError" in (load.error or "") and load.written == 9


def test_abandoned_execution_is_never_restarted(app: rota.App, knobs: Knobs) -> None:
    knobs.fail_at = {3 + 1}
    handle = app.get_job("numbers").enqueue(tag="abandon")
    app.drain()
    ex = execution_of(app, handle.id)
    with pytest.raises(BatchConflict, match="only a running one"):
        app.batches.stop(ex.id)
    assert app.batches.abandon(ex.id).state == "abandoned"
    with pytest.raises(BatchConflict, match="abandoned"):
        app.batches.restart(ex.id)
    with pytest.raises(BatchConflict, match="abandoned"):
        app.get_job("numbers").enqueue(tag="abandon")


def test_restart_of_an_older_or_completed_execution_is_refused(app: rota.App, knobs: Knobs) -> None:
    knobs.fail_at = {20}
    handle = app.get_job("numbers").enqueue(tag="old")
    app.drain()
    first = execution_of(app, handle.id)
    second = app.batches.restart(first.id)
    with pytest.raises(BatchConflict, match="restarted already"):
        app.batches.restart(first.id)
    knobs.fail_at = set()
    app.drain()
    with pytest.raises(BatchConflict, match="completed"):
        app.batches.restart(second.id)


def test_retrying_a_failed_batch_run_restarts_its_instance(
    app: rota.App, knobs: Knobs, out: Path
) -> None:
    knobs.fail_at = {70}
    handle = app.get_job("numbers").enqueue(tag="retry")
    app.drain()
    knobs.fail_at = set()
    assert app.runs.retry([handle.id]) == [handle.id]
    assert app.drain() == {"succeeded": 1}
    ex = execution_of(app, handle.id)
    assert ex.state == "completed" and ex.restart_of is not None
    assert written(out) == expected(95)


def test_cancelled_waiting_run_releases_its_instance(app: rota.App) -> None:
    job = app.get_job("numbers")
    handle = job.enqueue(tag="cancel")
    ex = execution_of(app, handle.id)
    stopped = app.batches.stop(ex.id)
    assert stopped.state == "stopped" and app.runs.get(handle.id).state == "cancelled"
    again = job.enqueue(tag="cancel")  # a stopped instance may run again: a restart
    assert execution_of(app, again.id).restart_of == ex.id


def test_instances_are_identified_by_their_identifying_arguments(database_url: str) -> None:
    app = rota.App(database=database_url)

    @app.batch(identifying=["day"])
    def report(day: str, verbose: bool = False) -> batch.Flow:
        return batch.Flow([batch.tasklet("t", lambda ctx: None)])

    report.enqueue(day="2026-11-23", verbose=True)
    app.drain()
    with pytest.raises(BatchConflict):
        report.enqueue(day="2026-11-23", verbose=False)
    report.enqueue(day="2026-11-24")
    app.close()


def test_restart_limit(database_url: str) -> None:
    app = rota.App(database=database_url)

    @app.batch(restart_limit=1)
    def fragile() -> batch.Flow:
        def boom(ctx: batch.StepContext) -> None:
            raise RuntimeError("always")

        return batch.Flow([batch.tasklet("t", boom)])

    handle = fragile.enqueue()
    app.drain()
    second = app.batches.restart(execution_of(app, handle.id).id)
    app.drain()
    with pytest.raises(BatchConflict, match="restart limit"):
        app.batches.restart(second.id)
    app.close()


def test_conditional_flow_follows_exit_statuses(database_url: str) -> None:
    app = rota.App(database=database_url)
    seen: list[str] = []

    def check(ctx: batch.StepContext) -> str:
        seen.append("check")
        return "EMPTY" if ctx.args["n"] == 0 else "COMPLETED"

    def load(ctx: batch.StepContext) -> None:
        seen.append("load")
        if ctx.args["n"] < 0:
            raise RuntimeError("negative")

    def note(name: str) -> Any:
        return lambda ctx: seen.append(name)

    @app.batch
    def flow(n: int) -> batch.Flow:
        return batch.Flow(
            [
                batch.tasklet("check", check, on={"EMPTY": "report"}),
                batch.tasklet("load", load, on={"FAILED": "cleanup"}),
                batch.tasklet("report", note("report"), on={"*": batch.END}),
                batch.tasklet("cleanup", note("cleanup"), on={"*": batch.FAIL}),
            ]
        )

    for n, path, state in [
        (0, ["check", "report"], "completed"),
        (1, ["check", "load", "report"], "completed"),
        (-1, ["check", "load", "cleanup"], "failed"),
    ]:
        seen.clear()
        handle = flow.enqueue(n=n)
        app.drain()
        ex = execution_of(app, handle.id)
        assert (seen, ex.state) == (path, state), n
        if n == 0:
            assert step(ex, "check").exit_status == "EMPTY"
    app.close()


def test_transactional_sql_writer_commits_with_the_checkpoint(database_url: str) -> None:
    """SqlWriter without connect= writes into rota's database in the chunk's transaction."""
    app = rota.App(database=database_url)
    app.store  # noqa: B018 - create the schema
    ddl = "CREATE TABLE batch_sink (i INTEGER PRIMARY KEY, sq INTEGER NOT NULL)"
    _exec(database_url, "DROP TABLE IF EXISTS batch_sink")
    _exec(database_url, ddl)
    fail = {"at": 33}

    def square(i: int) -> dict[str, int]:
        if i == fail["at"]:
            raise RuntimeError("boom")
        return {"i": i, "sq": i * i}

    @app.batch
    def squares() -> batch.Flow:
        return batch.Flow(
            [
                batch.chunk(
                    "sq",
                    reader=batch.IterableReader(lambda: range(60)),
                    processor=square,
                    writer=batch.SqlWriter("batch_sink"),
                    size=7,
                )
            ]
        )

    handle = squares.enqueue()
    app.drain()
    assert _exec(database_url, "SELECT count(*) FROM batch_sink") == [(28,)]
    fail["at"] = -1
    app.batches.restart(execution_of(app, handle.id).id)
    app.drain()
    rows = _exec(database_url, "SELECT i, sq FROM batch_sink ORDER BY i")
    assert rows == [(i, i * i) for i in range(60)]
    app.close()


def test_partitioned_step_in_one_process(database_url: str, tmp_path: Path) -> None:
    """With no other worker, the step's own run executes the partitions (app.drain)."""
    app = rota.App(database=database_url)
    sink = tmp_path / "parts.log"

    def read(ctx: batch.StepContext) -> range:
        assert ctx.partition is not None
        p, n = ctx.partition["partition"], ctx.partition["partitions"]
        return range(p, 40, n)

    def write(items: list[int]) -> None:
        with sink.open("a") as f:
            f.writelines(f"{i}\n" for i in items)

    @app.batch
    def spread() -> batch.Flow:
        return batch.Flow([batch.chunk("load", reader=read, writer=write, size=3, partitions=4)])

    handle = spread.enqueue()
    app.drain()
    ex = execution_of(app, handle.id)
    assert ex.state == "completed", ex.to_json()
    assert sorted(int(x) for x in sink.read_text().split()) == list(range(40))
    shown = ex.to_json()["steps"][0]
    assert shown["read"] == 40 and len(shown["partitions"]) == 4
    progress = app.runs.get(handle.id).progress  # the parent's, once all partitions are done
    assert progress is not None and progress["done"] == 40, progress
    assert progress["message"] == "step load: 4/4 partitions done", progress
    assert app.jobs.get("rota.batch.partition") is None  # internal: not listed
    app.close()


def _exec(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            rows = conn.execute(sql).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        cur = pg.execute(sql)
        return list(cur.fetchall()) if cur.description else []


def test_unique_key_returns_the_waiting_batch_run(app: rota.App) -> None:
    job = app.get_job("numbers").configure(unique_key="nightly")
    first = job.enqueue(tag="u")
    again = job.enqueue(tag="u")
    assert again.id == first.id
    assert len(app.batches.list()) == 1


def test_a_refused_scheduled_batch_fire_moves_the_schedule_on(database_url: str) -> None:
    """A schedule of a batch instance that completed keeps firing times (refused, recorded)
    instead of retrying the refusal forever."""
    from datetime import UTC, datetime, timedelta

    from rota.scheduling.scheduler import Scheduler, SchedulerConfig

    class Clock:
        t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

        def now(self) -> datetime:
            return self.t

    clock = Clock()
    app = rota.App(database=database_url, clock=clock)

    @app.batch
    def nightly() -> batch.Flow:
        return batch.Flow([batch.tasklet("t", lambda ctx: None)])

    app.add_schedule("nightly", nightly, every=60)
    scheduler = Scheduler(app.store, app.jobs, SchedulerConfig("n1"), clock)
    clock.t += timedelta(seconds=60)
    assert scheduler.run_once() == 1
    app.drain()
    clock.t += timedelta(seconds=60)
    assert scheduler.run_once() == 0  # the instance completed: refused, and moved on
    clock.t += timedelta(seconds=60)
    assert scheduler.run_once() == 0
    fires = app.schedules.fires("nightly")
    assert [f.outcome for f in fires] == ["refused", "refused", "fired"]
    assert app.schedules.get("nightly").next_fire_at == clock.t + timedelta(seconds=60)
    app.close()


def test_partitioned_step_restarts_only_its_unfinished_partitions(
    database_url: str, tmp_path: Path
) -> None:
    """One partition fails mid-way; the restart keeps the completed partitions and resumes
    the failed one after its last commit; each partition writes its own file (a path given
    as a function of the step context), every item once."""
    app = rota.App(database=database_url)
    broken = {"at": 25}

    def read(ctx: batch.StepContext) -> range:
        assert ctx.partition is not None
        return range(ctx.partition["partition"], 40, ctx.partition["partitions"])

    def check(i: int) -> dict[str, int]:
        if i == broken["at"]:
            raise RuntimeError(f"item {i}")
        return {"i": i}

    def part_file(ctx: batch.StepContext) -> Path:
        assert ctx.partition is not None
        return tmp_path / f"part-{ctx.partition['partition']}.jsonl"

    @app.batch
    def split() -> batch.Flow:
        writer = batch.JsonLinesWriter(part_file)
        return batch.Flow(
            [batch.chunk("load", reader=read, processor=check, writer=writer, size=2, partitions=4)]
        )

    handle = split.enqueue()
    app.drain()
    first = execution_of(app, handle.id)
    assert first.state == "failed"
    parts = {p.partition: p for p in first.steps if p.partition >= 0}
    assert parts[1].state == "failed" and parts[1].position == 6  # 1,5,9,13,17,21 committed
    assert all(parts[p].state == "completed" for p in (0, 2, 3))

    broken["at"] = -1
    second = app.batches.restart(first.id)
    app.drain()
    second = app.batches.get(second.id)
    assert second.state == "completed", second.to_json()
    rerun = [p for p in second.steps if p.partition >= 0 and p.read > 0]
    assert [(p.partition, p.read) for p in rerun] == [(1, 4)]  # 25, 29, 33, 37
    for p in range(4):
        got = [json.loads(x)["i"] for x in (tmp_path / f"part-{p}.jsonl").read_text().splitlines()]
        assert got == list(range(p, 40, 4))
    app.close()


@pytest.mark.parametrize("fail", [False, True])
def test_a_run_handed_back_after_its_execution_ended_takes_that_outcome(
    app: rota.App, knobs: Knobs, out: Path, fail: bool
) -> None:
    """The node ended the execution, then handed the run back (shutdown) before writing the
    run's outcome: the next attempt gives the run that outcome instead of a restart."""
    from datetime import timedelta

    from rota.storage.base import ClaimParams, ReleaseParams

    knobs.fail_at = {40} if fail else set()
    handle = app.get_job("numbers").enqueue(tag="handed")
    now = app.clock.now()
    claim = ClaimParams("n1", None, 1, now, now + timedelta(seconds=30), run_id=handle.id)
    [run] = app.store.runs_claim(claim).claimed
    spec = app.jobs["numbers"]
    assert spec.context_param is not None
    ctx = rota.Context(run.id, run.attempt, run.job, node_id="n1")
    with pytest.raises(Exception) if fail else contextlib.nullcontext():
        spec.func(**run.args, **{spec.context_param: ctx})
    app.store.runs_release(ReleaseParams("n1", [(run.id, run.attempt)]))
    knobs.fail_at = set()
    assert app.drain() == {"failed" if fail else "succeeded": 1}
    [only] = app.batches.list()  # no restart was made
    assert only.state == ("failed" if fail else "completed")
    assert written(out) == expected(40 if fail else 95)


def test_a_schedule_passes_its_fire_time_to_make_an_instance_per_fire(
    database_url: str,
) -> None:
    """With fire_time_arg, each fire launches the batch job for its own fire time: a new
    instance each time, so a completed one does not block the next."""
    from datetime import UTC, datetime, timedelta

    from rota.scheduling.scheduler import Scheduler, SchedulerConfig

    class Clock:
        t = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

        def now(self) -> datetime:
            return self.t

    clock = Clock()
    app = rota.App(database=database_url, clock=clock)

    @app.batch
    def nightly(day: str, source: str) -> batch.Flow:
        return batch.Flow([batch.tasklet("t", lambda ctx: None)])

    with pytest.raises(rota.InvalidArguments, match="unknown argument"):
        app.add_schedule("bad", nightly, every=60, kwargs={"source": "s"}, fire_time_arg="dy")
    with pytest.raises(rota.InvalidArguments, match="fire_time_arg"):
        app.add_schedule("bad", nightly, every=60, kwargs={"source": "s", "day": "x"},
                         fire_time_arg="day")  # fmt: skip
    app.add_schedule("nightly", nightly, every=60, kwargs={"source": "s"}, fire_time_arg="day")
    scheduler = Scheduler(app.store, app.jobs, SchedulerConfig("n1"), clock)
    for _ in range(3):
        clock.t += timedelta(seconds=60)
        assert scheduler.run_once() == 1
        app.drain()
    days = [e.args["day"] for e in reversed(app.batches.list())]
    assert days == [(datetime(2026, 3, 1, 12, 1, tzinfo=UTC) + timedelta(minutes=i)).isoformat()
                    for i in range(3)]  # fmt: skip
    assert all(e.state == "completed" for e in app.batches.list())
    clock.t += timedelta(seconds=1)
    handle = app.schedules.trigger("nightly")  # a manual trigger gets "now"
    assert app.runs.get(handle.id).args == {"source": "s", "day": clock.t.isoformat()}
    app.close()
