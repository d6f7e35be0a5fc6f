"""``rota batch``: list, show, restart, stop and abandon batch executions, as a user drives them.

The app is tests/acceptance/batchapp.py: ``numbers(tag)`` reads BATCH_ITEMS numbers (30) in
chunks of 10, fails on BATCH_FAIL_AT, and appends what it writes to ``<tag>.out``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance import batchapp
from tests.acceptance.conftest import Cli, Result, assert_user_error

FAIL_AT_15 = {"BATCH_FAIL_AT": "15"}


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, Path(batchapp.__file__), database_url)


def run(cli: Cli, *args: str, env: dict[str, str] | None = None) -> Result:
    return cli.raw(*cli.globals(), *args, env=env)


def burst(cli: Cli, env: dict[str, str] | None = None) -> None:
    result = run(cli, "worker", "--burst", env=env)
    assert result.code == 0, str(result)


def executions(cli: Cli, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli.ok("batch", "list", "--json", *args).json()
    return found


def execution(cli: Cli, execution_id: int) -> dict[str, Any]:
    found: dict[str, Any] = cli.ok("batch", "show", str(execution_id), "--json").json()
    return found


def written(cli: Cli, tag: str) -> list[int]:
    path = cli.cwd / f"{tag}.out"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def failed_execution(cli: Cli, tag: str = "b") -> dict[str, Any]:
    """An execution of numbers(tag) that failed on item 15, after committing one chunk."""
    result = run(cli, "exec", "numbers", "--arg", f"tag={tag}", env=FAIL_AT_15)
    assert result.code == 1, str(result)
    found = executions(cli, "--job", "numbers", "--state", "failed")
    assert len(found) == 1, (executions(cli), str(result))
    [failed] = found
    return failed


def test_launched_execution_completes_and_is_listed(cli: Cli) -> None:
    run_id = int(cli.ok("launch", "numbers", "--arg", "tag=a").out)
    [waiting] = executions(cli)
    assert (waiting["job"], waiting["args"], waiting["run_id"]) == ("numbers", {"tag": "a"}, run_id)
    assert waiting["state"] == "starting"
    burst(cli)
    [done] = executions(cli)
    assert done["id"] == waiting["id"]
    assert done["state"] == "completed"
    assert done["restart_of"] is None
    assert done["started_at"] and done["finished_at"]
    [step] = done["steps"]
    assert step["name"] == "load"
    assert step["state"] == "completed"
    counts = {k: step[k] for k in ("read", "written", "skipped", "filtered", "commits")}
    assert counts == {"read": 30, "written": 30, "skipped": 0, "filtered": 0, "commits": 3}
    assert sorted(written(cli, "a")) == list(range(30))
    assert cli.run_json(run_id)["state"] == "succeeded"
    shown = cli.ok("runs", "show", str(run_id)).out
    assert f"execution {done['id']} (rota batch show {done['id']})" in shown

    lines = cli.ok("batch", "list").out.splitlines()
    assert lines[0].split() == [
        "ID", "JOB", "STATE", "RUN", "STEPS", "READ/WRITTEN", "STARTED", "FINISHED",
    ]  # fmt: skip
    assert lines[1].split()[:6] == [str(done["id"]), "numbers", "completed", str(run_id), "1/1",
                                    "30/30"]  # fmt: skip
    assert re.search(r"\d\d:\d\d:\d\d \((just now|\d+[smhd] ago)\)", lines[1])

    # the same instance is not run again; other arguments make another instance
    again = cli("launch", "numbers", "--arg", "tag=a")
    assert_user_error(again, 2, "already completed")
    assert_user_error(cli("exec", "numbers", "--arg", "tag=a"), 2, "already completed")
    cli.ok("launch", "numbers", "--arg", "tag=other")
    assert len(executions(cli)) == 2


def test_failed_execution_shows_its_last_commit(cli: Cli) -> None:
    failed = failed_execution(cli)
    shown = execution(cli, failed["id"])
    assert shown == failed
    assert shown["state"] == "failed"
    assert "bad 15" in shown["error"]
    [step] = shown["steps"]
    assert step["state"] == "failed"
    assert (step["read"], step["written"], step["commits"]) == (10, 10, 1)
    assert "ValueError: bad 15" in step["error"]
    assert sorted(written(cli, "b")) == list(range(10))

    human = cli.ok("batch", "show", str(failed["id"])).out
    assert re.search(r"^state\s+failed$", human, re.M), human
    assert re.search(rf"^run\s+{failed['run_id']} \(failed\)$", human, re.M), human
    header, row = human.strip().splitlines()[-2:]
    assert header.split() == [
        "STEP", "STATE", "READ", "WRITTEN", "SKIPPED", "FILTERED", "COMMITS", "DURATION", "ERROR",
    ]  # fmt: skip
    assert row.split()[:7] == ["load", "failed", "10", "10", "0", "0", "1"]
    assert row.endswith("ValueError: bad 15")


def test_restart_resumes_after_the_last_commit(cli: Cli) -> None:
    failed = failed_execution(cli)
    result = cli.ok("batch", "restart", str(failed["id"]))
    match = re.fullmatch(
        rf"execution {failed['id']} restarted as execution (\d+) \(run (\d+)\)\n", result.out
    )
    assert match, str(result)
    new_id, run_id = int(match[1]), int(match[2])
    assert new_id != failed["id"] and run_id != failed["run_id"]
    burst(cli)
    restarted = execution(cli, new_id)
    assert restarted["state"] == "completed"
    assert (restarted["restart_of"], restarted["run_id"]) == (failed["id"], run_id)
    assert restarted["instance_id"] == failed["instance_id"]
    [step] = restarted["steps"]
    assert (step["read"], step["written"], step["commits"]) == (20, 20, 2)
    # every item exactly once: the committed first chunk was neither read nor written again
    assert sorted(written(cli, "b")) == list(range(30))
    # the failed execution is not restarted twice, nor the completed one at all
    assert_user_error(cli("batch", "restart", str(failed["id"])), 2, "restarted already")
    assert_user_error(cli("batch", "restart", str(new_id)), 2, "completed")
    assert [e["id"] for e in executions(cli)] == [new_id, failed["id"]]


def test_stop_a_waiting_execution_then_restart_it(cli: Cli) -> None:
    run_id = int(cli.ok("launch", "numbers", "--arg", "tag=s").out)
    [waiting] = executions(cli)
    assert cli.ok("batch", "stop", str(waiting["id"])).out == f"execution {waiting['id']} stopped\n"
    stopped = execution(cli, waiting["id"])
    assert stopped["state"] == "stopped"
    assert cli.run_json(run_id)["state"] == "cancelled"
    again = cli.ok("batch", "stop", str(waiting["id"])).out
    assert again == f"execution {waiting['id']} was already stopped\n"
    # --json prints the execution object, and nothing else
    assert cli.ok("batch", "stop", str(waiting["id"]), "--json").json() == stopped

    new = cli.ok("batch", "restart", str(waiting["id"]), "--json").json()
    assert new["restart_of"] == waiting["id"]
    assert new["state"] == "starting"
    assert cli.run_json(new["run_id"])["state"] == "queued"
    burst(cli)
    assert execution(cli, new["id"])["state"] == "completed"
    assert sorted(written(cli, "s")) == list(range(30))


def test_stop_and_abandon_refuse_what_does_not_apply(cli: Cli) -> None:
    cli.ok("exec", "numbers", "--arg", "tag=a")
    [completed] = executions(cli)
    for verb in ("stop", "abandon", "restart"):
        assert_user_error(cli("batch", verb, str(completed["id"])), 2, "completed")
    assert execution(cli, completed["id"])["state"] == "completed"

    failed = failed_execution(cli)
    assert_user_error(cli("batch", "stop", str(failed["id"])), 2, "failed")
    out = cli.ok("batch", "abandon", str(failed["id"])).out
    assert out == f"execution {failed['id']} abandoned: its instance is never run again\n"
    abandoned = execution(cli, failed["id"])
    assert abandoned["state"] == "abandoned"
    assert cli.ok("batch", "abandon", str(failed["id"]), "--json").json() == abandoned
    again = cli.ok("batch", "abandon", str(failed["id"])).out
    assert again == f"execution {failed['id']} was already abandoned\n"
    assert_user_error(cli("batch", "restart", str(failed["id"])), 2, "abandoned")
    assert_user_error(cli("launch", "numbers", "--arg", "tag=b"), 2, "abandoned")
    assert len(executions(cli)) == 2


def test_unknown_execution_exits_3(cli: Cli) -> None:
    for verb in ("show", "restart", "stop", "abandon"):
        assert_user_error(cli("batch", verb, "999"), 3, "batch execution 999 not found")
        assert_user_error(cli("batch", verb, "999", "--json"), 3, "not found")


def test_list_filters_and_pages(cli: Cli) -> None:
    for tag in ("p0", "p1", "p2", "p3"):
        cli.ok("launch", "numbers", "--arg", f"tag={tag}")
    failed = failed_execution(cli)
    newest = [e["id"] for e in executions(cli)]
    assert newest == sorted(newest, reverse=True) and len(newest) == 5
    assert [e["id"] for e in executions(cli, "--state", "failed")] == [failed["id"]]
    both = executions(cli, "--state", "failed", "--state", "STARTING")
    assert [e["id"] for e in both] == newest
    assert executions(cli, "--job", "spread") == []

    first = cli.ok("batch", "list", "--limit", "2")
    assert f"more: --cursor {newest[1]}" in first.err
    assert [int(line.split()[0]) for line in first.out.splitlines()[1:]] == newest[:2]
    page = executions(cli, "--limit", "2", "--cursor", str(newest[1]))
    assert [e["id"] for e in page] == newest[2:4]
    last = cli.ok("batch", "list", "--limit", "2", "--cursor", str(newest[3]))
    assert "more:" not in last.err
    assert [int(line.split()[0]) for line in last.out.splitlines()[1:]] == newest[4:]

    assert_user_error(cli("batch", "list", "--state", "sleeping"), 2, "--state")
    assert_user_error(cli("batch", "list", "--limit", "0"), 2, "--limit")
    assert_user_error(cli("batch", "list", "--cursor", "x"), 2, "--cursor")
    assert_user_error(cli("batch", "show", "0"), 2)


def test_show_lists_the_partitions_of_a_partitioned_step(cli: Cli) -> None:
    cli.ok("launch", "spread", "--arg", "tag=c")
    burst(cli)
    [done] = executions(cli)
    assert done["state"] == "completed"
    prepare, load = done["steps"]
    assert prepare["name"] == "prepare" and "partitions" not in prepare
    assert (load["read"], load["written"]) == (30, 30)
    parts = load["partitions"]
    assert [p["partition"] for p in parts] == [0, 1]
    assert [(p["read"], p["state"]) for p in parts] == [(15, "completed"), (15, "completed")]
    assert all(isinstance(p["run_id"], int) for p in parts)
    assert sorted(written(cli, "c")) == list(range(30))

    lines = cli.ok("batch", "show", str(done["id"])).out.splitlines()
    rows = lines[lines.index(next(x for x in lines if x.startswith("STEP"))) + 1 :]
    assert [r.split()[0] for r in rows] == ["prepare", "load", "partition", "partition"]
    assert rows[2].split()[:5] == ["partition", "0", "(run", f"{parts[0]['run_id']})", "completed"]


def test_batch_commands_work_without_an_app(cli: Cli) -> None:
    cli.ok("exec", "numbers", "--arg", "tag=a")
    [done] = cli.ok("batch", "list", "--json", app=False).json()
    assert done["state"] == "completed"
    assert cli.ok("batch", "show", str(done["id"]), "--json", app=False).json() == done
    assert_user_error(cli("batch", "restart", str(done["id"]), app=False), 2, "no app given")
