"""``rota workflows``: list, show, retry and cancel workflows as a user drives them, both backends.

The app is tests/acceptance/workflowapp.py: the ``@app.workflow`` ``pipeline(log, blocker)``
(fetch and side first, check after fetch, report after check and side; check fails while the
file ``blocker`` exists). Every step appends its name to the file ``log``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance import workflowapp
from tests.acceptance.conftest import Cli, assert_user_error

WORKFLOW_KEYS = {"id", "name", "state", "created_at", "finished_at", "steps"}
STEP_KEYS = {"name", "job", "run_id", "state", "after"}
EDGES = {"fetch": [], "side": [], "check": ["fetch"], "report": ["side", "check"]}


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, Path(workflowapp.__file__), database_url)


def burst(cli: Cli) -> None:
    cli.ok("worker", "--burst")


def launch(cli: Cli) -> int:
    """Launch ``pipeline`` from the CLI and run it; the id of the workflow its run enqueued."""
    log, blocker = cli.cwd / "ran.log", cli.cwd / "blocker"
    run_id = int(
        cli.ok("launch", "pipeline", "--arg", f"log={log}", "--arg", f"blocker={blocker}").out
    )
    burst(cli)
    run = cli.run_json(run_id)
    assert run["state"] == "succeeded", run
    assert isinstance(run["result"], int), run
    return int(run["result"])


def show(cli: Cli, workflow_id: int) -> dict[str, Any]:
    found: dict[str, Any] = cli.ok("workflows", "show", str(workflow_id), "--json").json()
    return found


def states(workflow: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["state"] for s in workflow["steps"]}


def ran(cli: Cli) -> Counter[str]:
    return Counter(workflowapp.ran(str(cli.cwd / "ran.log")))


def assert_contract_shape(workflow: dict[str, Any]) -> None:
    assert set(workflow) == WORKFLOW_KEYS, workflow
    for step in workflow["steps"]:
        assert set(step) == STEP_KEYS, step
    assert {s["name"]: s["after"] for s in workflow["steps"]} == EDGES


def test_a_workflow_launched_from_the_cli_runs_every_step(cli: Cli) -> None:
    workflow_id = launch(cli)
    workflow = show(cli, workflow_id)
    assert_contract_shape(workflow)
    assert (workflow["id"], workflow["name"], workflow["state"]) == (
        workflow_id,
        "pipeline",
        "succeeded",
    )
    assert set(states(workflow).values()) == {"succeeded"}
    assert workflow["created_at"] and workflow["finished_at"]
    assert ran(cli) == {"fetch": 1, "side": 1, "check": 1, "report": 1}
    report = cli.run_json(workflow["steps"][-1]["run_id"])
    assert (report["workflow"], report["step"]) == (workflow_id, "report")
    assert report["result"] == {"check": 2, "side": 10}

    listed = cli.ok("workflows", "list", "--json").json()
    assert listed == [workflow]
    table = cli.ok("workflows", "list").out.splitlines()
    assert table[0].split() == ["ID", "NAME", "STATE", "SUCCEEDED", "CREATED", "FINISHED"]
    assert table[1].split()[:4] == [str(workflow_id), "pipeline", "succeeded", "4/4"]

    human = cli.ok("workflows", "show", str(workflow_id)).out
    lines = human.splitlines()
    assert any(line.split() == ["state", "succeeded"] for line in lines), human
    steps_at = next(i for i, line in enumerate(lines) if line.startswith("STEP"))
    assert lines[steps_at].split() == ["STEP", "JOB", "RUN", "STATE", "AFTER"]
    rows = [line.split(maxsplit=4) for line in lines[steps_at + 1 :]]
    by_id = {s["name"]: str(s["run_id"]) for s in workflow["steps"]}
    assert rows == [
        ["fetch", "fetch", by_id["fetch"], "succeeded", "-"],
        ["side", "fetch", by_id["side"], "succeeded", "-"],
        ["check", "check", by_id["check"], "succeeded", "fetch"],
        ["report", "report", by_id["report"], "succeeded", "side, check"],
    ]
    step_view = cli.ok("runs", "show", by_id["check"]).out
    assert f"step 'check' of workflow {workflow_id}" in step_view, step_view


def test_retry_puts_back_the_failed_step_and_those_after_it_only(cli: Cli) -> None:
    blocker = cli.cwd / "blocker"
    blocker.touch()
    workflow_id = launch(cli)
    failed = show(cli, workflow_id)
    assert failed["state"] == "failed" and failed["finished_at"]
    assert states(failed) == {
        "fetch": "succeeded",
        "side": "succeeded",
        "check": "failed",
        "report": "cancelled",
    }
    report = cli.run_json(failed["steps"][-1]["run_id"])
    assert [e["type"] for e in report["errors"]] == ["UpstreamFailed"]
    assert "check" in report["errors"][0]["message"]
    assert ran(cli) == {"fetch": 1, "side": 1, "check": 1}

    blocker.unlink()  # the cause fixed
    out = cli.ok("workflows", "retry", str(workflow_id)).out
    assert out == f"workflow {workflow_id}: retried 2 step(s): check, report\n"
    again = show(cli, workflow_id)
    assert again["state"] == "running" and again["finished_at"] is None
    assert states(again)["check"] == "queued" and states(again)["report"] == "waiting"
    burst(cli)
    done = show(cli, workflow_id)
    assert done["state"] == "succeeded", done
    assert ran(cli) == {"fetch": 1, "side": 1, "check": 2, "report": 1}

    nothing = cli("workflows", "retry", str(workflow_id))
    assert nothing.code == 1 and nothing.out == "", str(nothing)
    assert "is succeeded: it has no failed or cancelled step to retry" in nothing.err


def test_cancel_ends_every_open_step_and_retry_takes_it_up_again(cli: Cli) -> None:
    log, blocker = cli.cwd / "ran.log", cli.cwd / "blocker"
    # exec runs the workflow's job here and now: its steps are stored, no worker runs them
    cli.ok("exec", "pipeline", "--arg", f"log={log}", "--arg", f"blocker={blocker}")
    [listed] = cli.ok("workflows", "list", "--json").json()
    workflow_id = listed["id"]
    assert listed["state"] == "running"
    assert set(states(listed).values()) == {"queued", "waiting"}

    out = cli.ok("workflows", "cancel", str(workflow_id)).out
    assert out == f"workflow {workflow_id}: cancelled 4 step(s)\n"
    cancelled = show(cli, workflow_id)
    assert cancelled["state"] == "cancelled" and cancelled["finished_at"]
    assert set(states(cancelled).values()) == {"cancelled"}
    as_json = cli.ok("workflows", "cancel", str(workflow_id), "--json").json()
    assert as_json == cancelled
    again = cli.ok("workflows", "cancel", str(workflow_id)).out
    assert again == f"workflow {workflow_id} already cancelled: left as it is\n"
    burst(cli)
    assert ran(cli) == {}

    retried = cli.ok("workflows", "retry", str(workflow_id), "--json").json()
    assert retried["state"] == "running"
    burst(cli)
    assert show(cli, workflow_id)["state"] == "succeeded"
    assert ran(cli) == {"fetch": 1, "side": 1, "check": 1, "report": 1}


def test_an_empty_list_pages_and_cursors(cli: Cli) -> None:
    assert cli.ok("workflows", "list", "--json").json() == []
    empty = cli.ok("workflows", "list")
    assert (empty.out, empty.err.strip()) == ("", "no workflows")
    first, second = launch(cli), launch(cli)
    page = cli.ok("workflows", "list", "--limit", "1", "--json")
    assert [w["id"] for w in page.json()] == [second]
    human = cli.ok("workflows", "list", "--limit", "1")
    assert human.err.strip() == f"more: --cursor {second}"
    rest = cli.ok("workflows", "list", "--cursor", str(second), "--json").json()
    assert [w["id"] for w in rest] == [first]
    after_all = cli.ok("workflows", "list", "--cursor", str(first))
    assert (after_all.out, after_all.err.strip()) == ("", f"no workflows match --cursor {first}")


@pytest.mark.parametrize("verb", ["show", "retry", "cancel"])
def test_an_unknown_workflow_is_not_found(cli: Cli, verb: str) -> None:
    assert_user_error(cli("workflows", verb, "999"), 3, "workflow 999 not found")


@pytest.mark.parametrize("verb", ["show", "retry", "cancel"])
@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", str(2**63)])
def test_a_bad_id_is_a_usage_error(cli: Cli, verb: str, bad: str) -> None:
    assert_user_error(cli("workflows", verb, bad), 2, "not an id")


@pytest.mark.parametrize(
    "args", [["--limit", "0"], ["--limit", "x"], ["--cursor", "0"], ["--cursor", "-3"]]
)
def test_bad_list_options_are_usage_errors(cli: Cli, args: list[str]) -> None:
    assert_user_error(cli("workflows", "list", *args), 2)
