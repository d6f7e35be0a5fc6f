"""``rota launch`` and ``rota exec``: input translation, exit codes, and --wait."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.acceptance.conftest import Cli, Worker, assert_user_error

RUN_FIELDS = {
    "id", "job", "queue", "state", "args", "priority", "attempt", "schedule", "max_attempts",
    "run_at", "created_at", "started_at", "finished_at", "result", "errors", "progress",
}  # fmt: skip


def stored(cli: Cli) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = cli.ok("runs", "list", "--json").json()
    return runs


def test_launch_prints_the_id_of_a_queued_run(cli: Cli) -> None:
    result = cli.ok("launch", "add", "--arg", "a=2", "--arg", "b=3")
    run_id = int(result.out.strip())
    run = cli.run_json(run_id)
    assert run["job"] == "add"
    assert run["state"] == "queued"
    assert run["args"] == {"a": 2, "b": 3}


def test_launch_json_prints_only_the_run_object(cli: Cli) -> None:
    run = cli.ok("launch", "add", "--arg", "a=1", "--json").json()
    assert isinstance(run, dict)
    assert set(run) >= RUN_FIELDS
    assert run["state"] == "queued"
    assert run["queue"] == "default"


def test_arg_values_follow_the_parameter_types(cli: Cli) -> None:
    text = cli.ok("launch", "echo", "--arg", "text=123", "--arg", "times=2", "--json").json()
    assert text["args"] == {"text": "123", "times": 2}
    quoted = cli.ok("launch", "echo", "--arg", 'text="x"', "--json").json()
    assert quoted["args"] == {"text": '"x"'}
    merged = cli.ok(
        "launch", "add", "--args-json", '{"a": 1, "b": 2}', "--arg", "b=5", "--json"
    ).json()
    assert merged["args"] == {"a": 1, "b": 5}


def test_launch_options_reach_the_run(cli: Cli) -> None:
    at = "2030-01-31T09:30:00+00:00"
    later = cli.ok(
        "launch", "add", "--arg", "a=1", "--run-at", at, "--priority", "-5", "--queue", "q2",
        "--json",
    ).json()  # fmt: skip
    assert later["state"] == "scheduled"
    assert datetime.fromisoformat(later["run_at"]) == datetime.fromisoformat(at)
    assert (later["priority"], later["queue"]) == (-5, "q2")
    delayed = cli.ok("launch", "add", "--arg", "a=1", "--delay", "1h", "--json").json()
    created = datetime.fromisoformat(delayed["created_at"])
    assert datetime.fromisoformat(delayed["run_at"]) - created >= timedelta(minutes=59)
    assert delayed["state"] == "scheduled"


def test_unique_key_returns_the_existing_run(cli: Cli) -> None:
    first = cli.ok("launch", "add", "--arg", "a=1", "--unique-key", "k1").out.strip()
    again = cli.ok("launch", "add", "--arg", "a=1", "--unique-key", "k1")
    assert again.out.strip() == first
    assert "exists already" in again.err
    assert len(stored(cli)) == 1


def test_unknown_job_exits_3(cli: Cli) -> None:
    assert_user_error(cli("launch", "nope"), 3, "unknown job 'nope'")
    assert_user_error(cli("exec", "nope"), 3, "unknown job")
    assert stored(cli) == []


def test_bad_input_exits_2_and_stores_nothing(cli: Cli) -> None:
    cases = [
        (["--arg", "a=abc"], "expected int"),
        (["--arg", "a=1", "--arg", "c=2"], "unknown argument"),
        ([], "missing argument"),
        (["--arg", "a=1", "--run-at", "tomorrow"], "--run-at"),
        (["--arg", "a=1", "--delay", "soon"], "--delay"),
        (["--args-json", "{not json"], "--args-json"),
        (["--args-json", "[1, 2]"], "JSON object"),
        (["--arg", "a"], "NAME=VALUE"),
        (["--arg", "a=1", "--frobnicate"], "--frobnicate"),
        (["--arg", "a=1", "--priority", "high"], "--priority"),
    ]
    for args, needle in cases:
        assert_user_error(cli("launch", "add", *args), 2, needle)
    assert_user_error(cli("exec", "add", "--arg", "a=abc"), 2, "expected int")
    assert stored(cli) == []


def test_exec_succeeds_with_the_result_on_stdout(cli: Cli) -> None:
    result = cli.ok("exec", "add", "--arg", "a=2", "--arg", "b=40")
    assert result.out.strip() == "42"
    assert "succeeded" in result.err
    [run] = stored(cli)
    assert (run["state"], run["result"]) == ("succeeded", 42)


def test_exec_json_prints_the_finished_run(cli: Cli) -> None:
    run = cli.ok("exec", "echo", "--arg", "text=ab", "--arg", "times=2", "--json").json()
    assert (run["state"], run["result"]) == ("succeeded", "abab")


def test_exec_failure_exits_1_with_the_error(cli: Cli) -> None:
    result = cli("exec", "boom", "--arg", "message=it broke")
    assert_user_error(result, 1, "ValueError: it broke")
    [run] = stored(cli)
    assert run["state"] == "failed"
    assert run["errors"][0]["type"] == "ValueError"  # type: ignore[index]


def test_exec_failure_json_still_prints_the_run(cli: Cli) -> None:
    result = cli("exec", "boom", "--json")
    assert result.code == 1, str(result)
    assert result.json()["state"] == "failed"
    assert "Traceback" not in result.err


def test_wait_shows_progress_and_exits_0(cli: Cli, worker: Worker) -> None:
    worker.start()
    result = cli("launch", "steps", "--arg", "n=3", "--wait", timeout=60)
    assert result.code == 0, str(result)
    run_id, value = map(int, result.out.splitlines())
    assert value == 3
    assert f"run {run_id}: succeeded 3/3 step 3" in result.err
    assert cli.run_json(run_id)["result"] == 3
    code, _ = worker.stop()
    assert code == 0


def test_wait_exits_1_when_the_job_fails(cli: Cli, worker: Worker) -> None:
    worker.start()
    result = cli("launch", "boom", "--arg", "message=bad luck", "--wait", timeout=60)
    assert result.code == 1, str(result)
    assert "ValueError: bad luck" in result.err
    assert "Traceback" not in result.err
    as_json = cli("launch", "boom", "--wait", "--json", timeout=60)
    assert as_json.code == 1, str(as_json)
    assert as_json.json()["state"] == "failed"
    code, _ = worker.stop()
    assert code == 0
