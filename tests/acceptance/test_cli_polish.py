"""What a new user sees: results after ``--wait``, progress lines, empty lists and help pages."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli, Worker, clean_env

BATCH_APP = Path(__file__).with_name("batchapp.py")
NO_JOBS = """
import rota

app = rota.App()
"""


def test_launch_wait_prints_the_result_like_exec(cli: Cli, worker: Worker) -> None:
    worker.start()
    result = cli("launch", "add", "--arg", "a=2", "--arg", "b=40", "--wait", timeout=60)
    assert result.code == 0, str(result)
    run_id, value = result.out.splitlines()
    assert value == "42"
    assert f"run {run_id} succeeded" in result.err
    as_json = cli("launch", "echo", "--arg", "text=ab", "--arg", "times=2", "--wait", "--json")
    assert as_json.code == 0, str(as_json)
    run = as_json.json()  # one object: the finished run, as `runs show --json` has it
    assert (run["state"], run["result"]) == ("succeeded", "abab")
    assert run == cli.run_json(run["id"])
    assert worker.stop()[0] == 0


def test_wait_progress_says_each_count_once(tmp_path: Path, database_url: str) -> None:
    shutil.copy(BATCH_APP, tmp_path / "batchapp.py")
    cli = Cli(tmp_path, tmp_path / "batchapp.py", database_url)
    worker = Worker(cli)
    worker.start()
    try:
        result = cli("launch", "numbers", "--arg", "tag=a", "--wait", timeout=60)
    finally:
        worker.stop()
    assert result.code == 0, str(result)
    run_id = result.out.splitlines()[0]
    # 30 items read of 30 and all 30 written: the count once, not again as "30 written"
    assert f"run {run_id}: succeeded 30/30 step load (1/1)\n" in result.err, str(result)
    for line in result.err.splitlines():
        counts = re.findall(r"\b(\d+)/(\d+)\b", line)
        assert len(counts) <= 2, line  # the items and the step number, each once
        assert "written" not in line, line


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(cli: Cli, *args: str, timeout: float = 60) -> tuple[int, str, list[str]]:
    """Run ``rota`` with stderr on a pseudo-terminal (so it draws its progress bar): the exit
    code, stdout, and the screen lines stderr drew (escape codes dropped)."""
    master, slave = pty.openpty()
    env = {**clean_env(), "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen(
        [*cli.command, *cli.globals(), *args], cwd=cli.cwd, env=env, stdout=subprocess.PIPE,
        stderr=slave, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(slave)
    drawn = b""
    with contextlib.suppress(OSError):  # EIO once the child closed the terminal
        while chunk := os.read(master, 65536):
            drawn += chunk
    os.close(master)
    out, _ = proc.communicate(timeout=timeout)
    text = ANSI.sub("", drawn.decode("utf-8", "replace"))
    lines = [part.strip() for part in re.split(r"[\r\n]", text) if part.strip()]
    return proc.returncode, out.decode(), lines


def test_progress_bar_says_the_count_once(cli: Cli, worker: Worker) -> None:
    worker.start()
    code, out, lines = on_a_terminal(cli, "launch", "steps", "--arg", "n=3", "--wait")
    assert code == 0, lines
    assert out.splitlines()[1:] == ["3"], out
    bar = [line for line in lines if f"run {out.split()[0]} " in line and "step 3" in line]
    assert bar, lines
    assert bar[-1].count("3/3") == 1, bar[-1]  # the bar's count, not again in its text
    assert "succeeded step 3" in bar[-1], bar[-1]
    assert worker.stop()[0] == 0


EMPTY_LISTS = [
    (["runs", "list"], "no runs"),
    (["runs", "list", "--state", "failed"], "no runs match --state failed"),
    (["runs", "list", "--job", "add", "--queue", "a b"], "no runs match --job add --queue 'a b'"),
    (["schedules", "list"], "no schedules"),
    (["batch", "list"], "no batch executions"),
    (["batch", "list", "--state", "failed"], "no batch executions match --state failed"),
    (["nodes"], "no nodes"),
    (["workflows", "list"], "no workflows"),
]


def test_empty_lists_say_so(cli: Cli) -> None:
    for args, line in EMPTY_LISTS:
        result = cli.ok(*args)
        assert result.out == "", str(result)  # no lone table header
        assert result.err == f"{line}\n", str(result)
        assert cli.ok(*args, "--json").json() == [], args


def test_an_app_without_jobs_says_so(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "nojobs.py"
    empty.write_text(NO_JOBS)
    result = cli.raw("--app", str(empty), "--database", cli.database_url, "jobs")
    assert (result.code, result.out, result.err) == (0, "", "no jobs defined\n"), str(result)


# -- help pages: need no database, so they run once, not per backend -----------------------


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Cli]:
    app_file = tmp_path / "nojobs.py"
    app_file.write_text(textwrap.dedent(NO_JOBS))
    yield Cli(tmp_path, app_file, f"sqlite:///{tmp_path / 'unused.db'}")


def _commands(page: str) -> list[tuple[str, str]]:
    """The (name, summary) rows of a help page's Commands section, wrapped lines joined."""
    rows: list[tuple[str, str]] = []
    section = page.split("\nCommands:\n", 1)[1] if "\nCommands:\n" in page else ""
    for line in section.splitlines():
        if not line.strip():
            break
        name, _, text = line.strip().partition(" ")
        if line.startswith("  ") and not line.startswith("   "):
            rows.append((name, text.strip()))
        elif rows:
            rows[-1] = (rows[-1][0], f"{rows[-1][1]} {line.strip()}")
    return rows


def _all_commands(bare: Cli, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    page = bare.raw(*path, "--help")
    assert page.code == 0, str(page)
    found = [path]
    for name, summary in _commands(page.out):
        assert summary and not summary.endswith("..."), (path, name, summary)
        found += _all_commands(bare, (*path, name))
    return found


@pytest.mark.parametrize("columns", ["80", "50"])
def test_every_help_page_opens_and_summaries_are_whole(
    bare: Cli, columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # the terminal width, passed on by clean_env()
    every = _all_commands(bare)
    assert ("runs", "list") in every and ("worker",) in every and len(every) > 20


def test_help_shows_option_defaults(bare: Cli) -> None:
    def flat(*args: str) -> str:
        result = bare.raw(*args, "--help")
        assert result.code == 0, str(result)
        return " ".join(result.out.split())

    worker = flat("worker")
    assert "[default: (the app's concurrency, 8 unless App(concurrency=N)); x>=1]" in worker
    assert "[default: (the app's shutdown_timeout, 30s unless" in worker
    assert "[default: (all)]" in worker
    assert "[default: 127.0.0.1]" in flat("serve")
    assert "[default: 8080;" in flat("run")
    assert "[default: 50" in flat("runs", "list")
    assert "[default: (the job's)]" in flat("launch")
