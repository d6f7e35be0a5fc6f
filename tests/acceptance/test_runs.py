"""``rota runs``: list with filters and cursor, show, retry, cancel, purge."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import rota
from rota.limits import MAX_SEARCH, SEARCH_SCOPE
from tests.acceptance.conftest import Cli, Worker, assert_user_error


def launch(cli: Cli, job: str, *args: str) -> int:
    return int(cli.ok("launch", job, *args).out.strip())


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = cli.ok("runs", "list", "--json", *args).json()
    return runs


def ids(runs: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in runs]


def failed_run(cli: Cli, message: str = "boom") -> int:
    result = cli("exec", "boom", "--arg", f"message={message}", "--json")
    assert result.code == 1, str(result)
    run_id: int = result.json()["id"]
    return run_id


def test_list_is_newest_first_with_filters(cli: Cli) -> None:
    a = launch(cli, "add", "--arg", "a=1")
    b = launch(cli, "echo", "--arg", "text=x", "--queue", "other")
    c = failed_run(cli)
    assert ids(listed(cli)) == [c, b, a]
    assert ids(listed(cli, "--state", "failed")) == [c]
    assert ids(listed(cli, "--state", "failed", "--state", "queued")) == [c, b, a]
    assert ids(listed(cli, "--job", "add")) == [a]
    assert ids(listed(cli, "--queue", "other")) == [b]
    assert ids(listed(cli, "--queue", "mail", "--job", "boom")) == [c]
    assert listed(cli, "--job", "echo", "--state", "failed") == []


def test_list_searches_arguments(cli: Cli) -> None:
    first = launch(cli, "echo", "--arg", "text=Invoice INV-2024_07 for ACME")
    second = launch(cli, "echo", "--arg", "text=invoice inv-2024-07")
    launch(cli, "add", "--arg", "a=2024")
    assert ids(listed(cli, "--search", "invoice")) == [second, first]
    assert ids(listed(cli, "--search", "INV-2024_07")) == [first]  # _ is not a wildcard
    assert ids(listed(cli, "--search", "acme", "--job", "echo")) == [first]
    table = cli.ok("runs", "list", "--search", "nothing like it")
    assert "no runs match --search 'nothing like it'" in table.err
    too_long = cli("runs", "list", "--search", "x" * (MAX_SEARCH + 1))
    assert_user_error(too_long, 2, f"at most {MAX_SEARCH} characters")


def test_list_pages_with_a_cursor(cli: Cli) -> None:
    made = [launch(cli, "add", "--arg", f"a={i}") for i in range(5)]
    newest = list(reversed(made))
    first = cli.ok("runs", "list", "--limit", "2")
    assert f"more: --cursor {newest[1]}" in first.err
    shown = [int(line.split()[0]) for line in first.out.splitlines()[1:]]
    assert shown == newest[:2]
    page = listed(cli, "--limit", "2", "--cursor", str(newest[1]))
    assert ids(page) == newest[2:4]
    last = cli.ok("runs", "list", "--limit", "2", "--cursor", str(newest[3]))
    assert "more:" not in last.err
    assert [int(line.split()[0]) for line in last.out.splitlines()[1:]] == newest[4:]


def test_list_human_is_an_aligned_table(cli: Cli) -> None:
    launch(cli, "add", "--arg", "a=1")
    failed_run(cli)
    lines = cli.ok("runs", "list").out.splitlines()
    assert lines[0].split()[:3] == ["ID", "JOB", "STATE"]
    column = lines[0].index("STATE")
    assert [line[column:].split()[0] for line in lines[1:]] == ["failed", "queued"]
    assert re.search(r"\d\d:\d\d:\d\d \((just now|\d+[smhd] ago)\)", lines[1])


def test_list_rejects_bad_options(cli: Cli) -> None:
    assert_user_error(cli("runs", "list", "--state", "sleeping"), 2, "--state")
    assert_user_error(cli("runs", "list", "--limit", "0"), 2, "--limit")
    assert_user_error(cli("runs", "list", "--cursor", "x"), 2, "--cursor")


def test_show_has_errors_with_tracebacks(cli: Cli) -> None:
    run_id = failed_run(cli, "no luck")
    human = cli.ok("runs", "show", str(run_id)).out
    assert "failed" in human
    assert "ValueError: no luck" in human
    assert "Traceback (most recent call last)" in human
    run = cli.run_json(run_id)
    [error] = run["errors"]
    assert set(error) >= {"attempt", "type", "message", "traceback", "at"}
    assert (error["attempt"], error["type"], error["message"]) == (1, "ValueError", "no luck")


def test_show_result_and_progress(cli: Cli) -> None:
    run = cli.ok("exec", "steps", "--arg", "n=4", "--json").json()
    assert run["progress"] == {"done": 4, "total": 4, "message": "step 4"}
    human = cli.ok("runs", "show", str(run["id"])).out
    assert "4/4 step 4" in human
    assert "result" in human


def test_unknown_run_exits_3(cli: Cli) -> None:
    assert_user_error(cli("runs", "show", "999"), 3, "run 999 not found")
    assert_user_error(cli("runs", "show", "999", "--json"), 3, "not found")
    assert_user_error(cli("runs", "retry", "999"), 3, "run 999 not found")
    assert_user_error(cli("runs", "cancel", "999"), 3, "run 999 not found")


def test_retry_by_id_and_by_state(cli: Cli) -> None:
    one, two = failed_run(cli), failed_run(cli)
    ok = launch(cli, "add", "--arg", "a=1")
    assert "retried 1 run(s)" in cli.ok("runs", "retry", str(one)).out
    assert cli.run_json(one)["state"] == "queued"
    assert "retried 1 run(s)" in cli.ok("runs", "retry", "--state", "failed", "--job", "boom").out
    assert cli.run_json(two)["state"] == "queued"
    assert "retried 0 run(s)" in cli.ok("runs", "retry", "--state", "failed").out
    not_retried = cli("runs", "retry", str(ok))
    assert not_retried.code == 1, str(not_retried)
    assert f"run {ok} is queued" in not_retried.err


def test_retry_needs_ids_or_state(cli: Cli) -> None:
    assert_user_error(cli("runs", "retry"), 2, "--state")
    assert_user_error(cli("runs", "retry", "1", "--state", "failed"), 2, "not both")
    assert_user_error(cli("runs", "retry", "--state", "running"), 2, "--state")


def test_cancel_waiting_runs(cli: Cli) -> None:
    queued = launch(cli, "add", "--arg", "a=1")
    later = launch(cli, "add", "--arg", "a=2", "--delay", "1h")
    done = cli.ok("exec", "add", "--arg", "a=3", "--json").json()["id"]
    result = cli.ok("runs", "cancel", str(queued), str(later), str(done))
    assert "cancelled 2 run(s)" in result.out
    assert f"run {done} already succeeded" in result.err
    assert cli.run_json(queued)["state"] == "cancelled"
    assert cli.run_json(later)["state"] == "cancelled"
    assert cli.run_json(done)["state"] == "succeeded"
    assert_user_error(cli("runs", "cancel"), 2, "RUN_IDS")


def test_purge_deletes_terminal_runs(cli: Cli) -> None:
    failed_run(cli)
    failed_run(cli)
    kept = launch(cli, "add", "--arg", "a=1")
    done = cli.ok("exec", "add", "--arg", "a=3", "--json").json()["id"]
    recent = cli.ok("runs", "purge", "--state", "failed", "--older-than", "7d")
    assert "purged 0 run(s)" in recent.out
    assert "purged 2 run(s)" in cli.ok("runs", "purge", "--state", "failed").out
    assert ids(listed(cli)) == [done, kept]
    assert_user_error(cli("runs", "purge", "--state", "queued"), 2, "--state")
    assert_user_error(cli("runs", "purge"), 2, "--state")
    assert_user_error(cli("runs", "purge", "--state", "failed", "--older-than", "x"), 2, "duration")


def test_cancel_a_running_run_is_cooperative(cli: Cli, worker: Worker, tmp_path: Path) -> None:
    release = tmp_path / "release"
    worker.start()
    run_id = launch(cli, "block", "--arg", f"path={release}")
    cli.wait_state(run_id, "running")
    result = cli.ok("runs", "cancel", str(run_id))
    assert "cancelled 0 run(s), requested 1" in result.out
    assert f"run {run_id} is running: cancellation requested" in result.err
    assert cli.run_json(run_id)["cancel_requested"] is True
    release.touch()
    assert cli.wait_state(run_id, "cancelled", "succeeded")["state"] == "cancelled"
    code, err = worker.stop()
    assert code == 0, err


def test_runs_list_filters_by_creation_time(cli: Cli) -> None:
    first = cli.ok("launch", "add", "--arg", "a=1", "--json").json()["id"]
    created = cli.run_json(first)["created_at"]
    second = cli.ok("launch", "add", "--arg", "a=2", "--json").json()["id"]
    after = cli.ok("runs", "list", "--created-after", created, "--json").json()
    before = cli.ok("runs", "list", "--created-before", created, "--json").json()
    assert [r["id"] for r in after] == [second, first]
    assert before == []
    assert_user_error(cli("runs", "list", "--created-after", "yesterday"), 2, "created-after")


def test_a_search_that_comes_back_short_says_how_to_search_older_runs(cli: Cli) -> None:
    needle = launch(cli, "echo", "--arg", "text=a needle here")
    seeder = rota.App(database=cli.database_url)

    @seeder.job
    def add(a: int, b: int = 0) -> int:
        return a + b

    newer = add.enqueue_many([{"a": n} for n in range(SEARCH_SCOPE + 5)])
    seeder.close()
    floor = newer[-1] + 1 - SEARCH_SCOPE
    first = cli.ok("runs", "list", "--search", "needle")
    assert f"a search reads at most {SEARCH_SCOPE:,} runs at a time, newest first" in first.err
    assert f"older runs: --cursor {floor}" in first.err
    assert ids(listed(cli, "--search", "needle", "--cursor", str(floor))) == [needle]
    again = cli("runs", "list", "--search", "needle", "--cursor", str(floor), "--json")
    assert "older runs" not in again.err  # it reached the first run
