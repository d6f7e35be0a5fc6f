"""The worker tells the story of each run: a start and an end line, as text or JSON lines."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import Cli
from tests.integration import hostile_app


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, Path(hostile_app.__file__), database_url)


def launch_three(database_url: str) -> dict[str, int]:
    app = hostile_app.build(database_url)
    try:
        return {
            "ok": app.enqueue("add", {"a": 1, "b": 2}).id,
            "failed": app.enqueue("fail_with", {"kind": "nul"}).id,
            "retrying": app.enqueue("retry_later").id,
        }
    finally:
        app.close()


def test_json_log_lines_tell_each_run_start_and_end(cli: Cli, database_url: str) -> None:
    ids = launch_three(database_url)

    result = cli.raw("--log-format", "json", *cli.globals(), "worker", "--burst", timeout=90)

    assert result.code == 0, str(result)
    lines = [json.loads(line) for line in result.err.splitlines()]  # every line is JSON
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= line.keys(), line
        assert datetime.fromisoformat(line["ts"]).utcoffset() is not None, line
    runs = [line for line in lines if "run_id" in line]
    by_run: dict[int, list[dict[str, Any]]] = {}
    for line in runs:
        assert line["level"] == "INFO" and line["logger"] == "rota.runs", line
        by_run.setdefault(line["run_id"], []).append(line)
    assert set(by_run) == set(ids.values())
    for name, run_id in ids.items():
        start, end = by_run[run_id]
        assert start["state"] == "running" and start["attempt"] == 1, start
        assert end["state"] == {"ok": "succeeded"}.get(name, name), end
        assert end["attempt"] == 1 and end["duration"] >= 0, end
        assert start["job"] == end["job"]
    assert by_run[ids["failed"]][1]["error_type"] == "ValueError"
    retry = by_run[ids["retrying"]][1]
    assert retry["error_type"] == "Retry"
    assert datetime.fromisoformat(retry["next_run_at"]) > datetime.fromisoformat(retry["ts"])
    assert "error_type" not in by_run[ids["ok"]][1]
    assert any("burst finished" in line["message"] for line in lines)


def test_text_log_lines_say_the_same(cli: Cli, database_url: str) -> None:
    ids = launch_three(database_url)

    result = cli.raw(*cli.globals(), "worker", "--burst", timeout=90)

    assert result.code == 0, str(result)
    text = result.err
    assert f"run {ids['ok']} started: job add, attempt 1 of 3" in text, text
    assert f"run {ids['ok']} succeeded: job add, attempt 1, " in text, text
    assert f"run {ids['failed']} failed: job fail_with, attempt 1, " in text, text
    assert "error ValueError" in text
    retry = next(line for line in text.splitlines() if f"run {ids['retrying']} retrying" in line)
    assert "error Retry, next attempt at " in retry, retry


def test_log_format_from_the_environment(cli: Cli, database_url: str) -> None:
    launch_three(database_url)
    result = cli.raw(*cli.globals(), "worker", "--burst", env={"ROTA_LOG_FORMAT": "json"})
    assert result.code == 0, str(result)
    assert all(json.loads(line) for line in result.err.splitlines())
