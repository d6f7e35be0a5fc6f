"""Out-of-range and hostile input on the command line: one ``rota: error:`` line, exit 2 or 3.

Each of these printed an internal error with a traceback, or the wrong error, or echoed a
100,000-character value whole.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rota.limits import MAX_ARGS_BYTES, MAX_ID, MAX_PAGE

from .conftest import Cli, assert_user_error

PAST_64_BITS = str(MAX_ID + 1)
HUGE = "9" * 20

USAGE_ERRORS = [
    (["runs", "show", PAST_64_BITS], "is not an id"),
    (["runs", "show", "-5"], "'-5' is not an id"),
    (["runs", "show", "-5", "--json"], "'-5' is not an id"),
    (["runs", "show", "0"], "is not an id"),
    (["runs", "list", "--cursor", HUGE], "--cursor"),
    (["runs", "list", "--cursor", "-1"], "--cursor"),
    (["runs", "list", "--limit", str(MAX_PAGE + 1)], "--limit"),
    (["runs", "retry", PAST_64_BITS], "is not an id"),
    (["runs", "retry", "3", "-2"], "'-2' is not an id"),
    (["runs", "cancel", PAST_64_BITS], "is not an id"),
    (["runs", "cancel", "-7"], "'-7' is not an id"),
    (["batch", "show", PAST_64_BITS], "is not an id"),
    (["batch", "show", "-1"], "'-1' is not an id"),
    (["batch", "list", "--cursor", HUGE], "--cursor"),
    (["batch", "list", "--limit", str(MAX_PAGE + 1)], "--limit"),
    (["batch", "restart", HUGE], "is not an id"),
    (["launch", "add", "--arg", "a=1", "--delay", "99999999999999"], "--delay"),
    (["launch", "add", "--arg", "a=1", "--delay", "3651d"], "longer than 3650 days"),
    (["launch", "add", "--arg", "a=1", "--run-at", "9999-12-31"], "run_at must be at most"),
    (["launch", "add", "--arg", "a=1", "--priority", HUGE], "--priority"),
    (["runs", "purge", "--state", "failed", "--older-than", "99999999999999"], "--older-than"),
    (["runs", "purge", "--state", "failed", "--older-than", "99999999999999d"], "--older-than"),
    (["runs", "purge", "--state", "failed", "--older-than", "-1d"], "--older-than"),
    (["runs", "purge", "--state", "failed", "--older-than", "abc"], "--older-than"),
]


@pytest.mark.parametrize(
    ("args", "needle"), USAGE_ERRORS, ids=[" ".join(a)[:60] for a, _ in USAGE_ERRORS]
)
def test_out_of_range_input_is_a_usage_error(cli: Cli, args: list[str], needle: str) -> None:
    assert_user_error(cli(*args), 2, needle)


def test_the_largest_id_is_not_found(cli: Cli) -> None:
    assert_user_error(cli("runs", "show", str(MAX_ID)), 3, "not found")
    assert_user_error(cli("batch", "show", str(MAX_ID)), 3, "not found")
    assert (
        cli.ok("runs", "list", "--cursor", str(MAX_ID), "--limit", str(MAX_PAGE), "--json").json()
        == []
    )


def test_args_json_files_that_cannot_be_read(cli: Cli, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"a": "caf\xe9"}')
    assert_user_error(cli("launch", "add", "--args-json", f"@{latin1}"), 2, "not UTF-8")
    assert_user_error(cli("launch", "add", "--args-json", "@missing.json"), 2, "cannot read")
    assert_user_error(cli("launch", "add", "--args-json", f"@{tmp_path}"), 2, "cannot read")
    assert cli.ok("runs", "list", "--json").json() == []


def test_arguments_past_the_limit_are_refused_with_their_size(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"text": "x" * MAX_ARGS_BYTES}))
    size = MAX_ARGS_BYTES + len('{"text":""}')
    result = cli("launch", "echo", "--args-json", f"@{big}")
    assert_user_error(result, 2, f"arguments are {size} bytes as JSON", str(MAX_ARGS_BYTES))
    assert cli.ok("runs", "list", "--json").json() == []


HUGE_TEXT = "x" * 100_000


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["launch", HUGE_TEXT], 3),
        (["launch", "add", "--arg", "a=1", "--queue", HUGE_TEXT], 2),
        (["launch", "add", "--arg", f"{HUGE_TEXT}=1"], 2),
        (["launch", "add", "--arg", f"a={HUGE_TEXT}"], 2),
        (["launch", "add", "--arg", "a=1", "--delay", HUGE_TEXT], 2),
        (["runs", "list", "--state", HUGE_TEXT], 2),
        (["runs", "list", "--limit", HUGE_TEXT], 2),
        (["runs", "show", HUGE_TEXT], 2),
        (["schedules", "pause", HUGE_TEXT], 3),
        (["runs", "list", HUGE_TEXT], 2),
        (["runs", "list", f"--{HUGE_TEXT}"], 2),
    ],
    ids=[
        "job",
        "queue",
        "arg name",
        "arg value",
        "delay",
        "state",
        "limit",
        "run id",
        "schedule",
        "extra argument",
        "unknown option",
    ],
)
def test_a_huge_bad_value_is_quoted_short(cli: Cli, args: list[str], code: int) -> None:
    result = cli(*args)
    assert_user_error(result, code)
    assert len(result.err) < 1000, result.err[:300]
    assert re.search(r"\(10000[0-4] characters\)", result.err), result.err
