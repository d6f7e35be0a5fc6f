"""Nothing a job does stops its worker: hostile errors and results, and runs of unknown jobs.

The worker is the installed ``rota`` command on tests/integration/hostile_app.py; the test
launches runs from its own app on the same database and reads them back from the store.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rota
from rota.limits import MAX_ERROR_MESSAGE
from tests.acceptance.conftest import Cli, Result
from tests.integration import hostile_app
from tests.support import stop_piped, wait_until

BURST_TIMEOUT = 90.0


@pytest.fixture
def launcher(database_url: str) -> Iterator[rota.App]:
    """The test's own app, with the same jobs as the worker's: launches and reads runs."""
    app = hostile_app.build(database_url)
    yield app
    app.close()


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, Path(hostile_app.__file__), database_url)


def burst(cli: Cli, *options: str) -> Result:
    return cli.raw(*options, *cli.globals(), "worker", "--burst", timeout=BURST_TIMEOUT)


def assert_readable(entry: dict[str, Any]) -> None:
    """An error entry a user can read and every backend can store: UTF-8 text, bounded."""
    json.dumps(entry, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    for key in ("type", "message", "traceback"):
        assert isinstance(entry[key], str), entry
        assert "\x00" not in entry[key], entry
    assert entry["type"] and entry["message"], entry
    assert len(entry["message"]) <= MAX_ERROR_MESSAGE, len(entry["message"])


def only_error(run: rota.Run) -> dict[str, Any]:
    assert run.state == "failed", run
    [entry] = run.errors
    assert_readable(entry)
    return entry


def test_unstorable_error_text_is_escaped_and_the_burst_goes_on(
    cli: Cli, launcher: rota.App
) -> None:
    surrogate = launcher.enqueue("fail_with", {"kind": "surrogate"}).id
    nul = launcher.enqueue("fail_with", {"kind": "nul"}).id
    normal = [launcher.enqueue("add", {"a": i, "b": 1}).id for i in range(3)]

    result = burst(cli)

    assert result.code == 0, str(result)
    assert "database unavailable" not in result.err, result.err
    entry = only_error(launcher.runs.get(surrogate))
    assert entry["type"] == "ValueError"
    assert "unexpected file: report-\\udcff.csv" in entry["message"]
    assert "escaped" in entry["message"]  # marked as altered
    entry = only_error(launcher.runs.get(nul))
    assert "bad row: a\\x00b" in entry["message"]
    assert [launcher.runs.get(i).result for i in normal] == [1, 2, 3]


def test_an_exception_whose_str_raises_is_recorded(cli: Cli, launcher: rota.App) -> None:
    no_str = launcher.enqueue("fail_with", {"kind": "str_raises"}).id
    unprintable = launcher.enqueue("afail_with", {"kind": "unprintable"}).id
    normal = launcher.enqueue("add", {"a": 1, "b": 1}).id

    result = burst(cli)

    assert result.code == 0, str(result)
    entry = only_error(launcher.runs.get(no_str))
    assert entry["type"] == "NoStr"
    assert entry["message"] == "<NoStr: str() raised RuntimeError>"
    entry = only_error(launcher.runs.get(unprintable))
    assert entry["message"] == "<Unprintable: str() raised RuntimeError>"
    assert launcher.runs.get(normal).result == 2


@pytest.mark.parametrize("kind", ["nul", "surrogate", "huge", "nan", "deep"])
def test_a_result_that_cannot_be_stored_fails_the_attempt(
    cli: Cli, launcher: rota.App, kind: str
) -> None:
    bad = launcher.enqueue("return_value", {"kind": kind}).id
    normal = launcher.enqueue("add", {"a": 2, "b": 2}).id

    result = burst(cli)

    assert result.code == 0, str(result)
    entry = only_error(launcher.runs.get(bad))
    assert entry["type"] in ("TypeError", "ValueError"), entry
    assert "returned a value that cannot be stored" in entry["message"], entry
    assert launcher.runs.get(bad).result is None
    assert launcher.runs.get(normal).result == 4


def test_a_failing_backoff_function_still_ends_the_run(cli: Cli, launcher: rota.App) -> None:
    bad = launcher.enqueue("bad_backoff").id
    normal = launcher.enqueue("add", {"a": 1, "b": 2}).id

    result = burst(cli)

    assert result.code == 0, str(result)
    run = launcher.runs.get(bad)
    assert run.state == "failed", run
    [entry] = run.errors
    assert_readable(entry)
    assert "ZeroDivisionError" in entry["message"], entry
    assert "first failure" in entry["message"], entry
    assert launcher.runs.get(normal).result == 3


@pytest.mark.parametrize("job", ["fail_with", "afail_with"])
@pytest.mark.parametrize("kind", ["system_exit", "keyboard_interrupt", "generator_exit"])
def test_base_exceptions_from_a_job_fail_only_its_attempt(
    cli: Cli, launcher: rota.App, job: str, kind: str
) -> None:
    first = launcher.enqueue(job, {"kind": kind}).id
    second = launcher.enqueue(job, {"kind": kind}).id
    normal = [launcher.enqueue(name, {"a": 1, "b": 1}).id for name in ("add", "aadd")]

    result = burst(cli)

    assert result.code == 0, str(result)
    expected = {
        "system_exit": "SystemExit",
        "keyboard_interrupt": "KeyboardInterrupt",
        "generator_exit": "GeneratorExit",
    }
    for run_id in (first, second):
        assert only_error(launcher.runs.get(run_id))["type"] == expected[kind]
    assert [launcher.runs.get(i).result for i in normal] == [2, 2]


def test_a_long_running_worker_goes_on_after_a_hostile_error(cli: Cli, launcher: rota.App) -> None:
    proc = cli.start("worker", "--concurrency", "2")
    try:
        hostile = launcher.enqueue("fail_with", {"kind": "surrogate"}).id
        wait_until(lambda: launcher.runs.get(hostile).state.terminal, 30, "the hostile run")
        normal = launcher.enqueue("add", {"a": 20, "b": 1}).id
        wait_until(lambda: launcher.runs.get(normal).state.terminal, 30, "the next run")
    finally:
        code, err = stop_piped(proc, signal.SIGTERM, 30)
    assert code == 0, err
    assert "database unavailable" not in err, err
    assert "rescued" not in err, err
    assert launcher.runs.get(normal).result == 21
    assert only_error(launcher.runs.get(hostile))["type"] == "ValueError"


# -- runs of jobs this worker does not define -----------------------------------------------


def foreign_app(database_url: str) -> rota.App:
    """Another version of the app (a rolling deploy): it has a job the worker lacks."""
    app = rota.App(database=database_url)

    @app.job
    def renamed_job(n: int) -> int:
        return n

    return app


def test_burst_leaves_runs_of_unknown_jobs_queued(
    cli: Cli, launcher: rota.App, database_url: str
) -> None:
    other = foreign_app(database_url)
    try:
        before = [launcher.enqueue("add", {"a": i, "b": 0}).id for i in range(3)]
        foreign = other.enqueue("renamed_job", {"n": 1}, priority=-5).id
        after = [launcher.enqueue("aadd", {"a": i, "b": 10}).id for i in range(3)]

        result = burst(cli)

        assert result.code == 0, str(result)
        assert [launcher.runs.get(i).result for i in before] == [0, 1, 2]
        assert [launcher.runs.get(i).result for i in after] == [10, 11, 12]
        run = launcher.runs.get(foreign)
        assert run.state == "queued" and run.attempt == 0 and run.errors == [], run
        warnings = [line for line in result.err.splitlines() if "renamed_job" in line]
        assert len(warnings) == 1, result.err
        assert "WARNING" in warnings[0] and "not defined" in warnings[0], warnings
    finally:
        other.close()


def test_a_long_running_worker_never_claims_runs_of_unknown_jobs(
    cli: Cli, launcher: rota.App, database_url: str
) -> None:
    other = foreign_app(database_url)
    proc = cli.start("worker")
    try:
        foreign = [other.enqueue("renamed_job", {"n": i}, priority=-5).id for i in range(3)]
        normal = [launcher.enqueue("add", {"a": i, "b": 0}).id for i in range(5)]
        for run_id in normal:
            wait_until(lambda r=run_id: launcher.runs.get(r).state.terminal, 30, f"run {run_id}")
    finally:
        code, err = stop_piped(proc, signal.SIGTERM, 30)
        other.close()
    assert code == 0, err
    assert [launcher.runs.get(i).result for i in normal] == [0, 1, 2, 3, 4]
    for run_id in foreign:
        run = launcher.runs.get(run_id)
        assert run.state == "queued" and run.attempt == 0, run
    assert err.count("renamed_job") == 1, err
    assert "cycle failed" not in err, err
