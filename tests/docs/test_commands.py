"""Every ``rota`` command line in a shell block of the docs and the README names commands and
options the CLI has, with values it accepts: each is parsed by the click group itself (nothing
runs), as the python blocks are compiled. A renamed option or command fails here."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest

from rota.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES.append(ROOT / "examples" / "django_project" / "README.md")
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell)[^\n]*\n(.*?)^```", re.M | re.S)


def command_lines(text: str) -> list[str]:
    """The ``rota ...`` commands of the shell blocks, after any ``VAR=value`` prefix."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]
            if words and words[0] == "rota":
                found.append(
                    shlex.join(words[1 : words.index("&&")] if "&&" in words else words[1:])
                )
    return found


def remaining(ctx: click.Context) -> list[str]:
    """The subcommand and its words a group left (``protected_args`` before click 8.2)."""
    state = vars(ctx)
    return [*state.get("_protected_args", state.get("protected_args", [])), *ctx.args]


def parse(args: list[str]) -> None:
    """Parse as click would at ``rota ARGS``, down to the last subcommand, without running."""
    ctx = cli.make_context("rota", list(args), resilient_parsing=False)
    command: click.Command = cli
    rest = remaining(ctx)
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None, name
        ctx = sub.make_context(name or "", list(rest), parent=ctx)
        command, rest = sub, remaining(ctx) if isinstance(sub, click.Group) else []


LINES = [
    (page.relative_to(ROOT).as_posix(), line)
    for page in PAGES
    for line in command_lines(page.read_text())
]


def deploy_lines() -> list[tuple[str, str]]:
    """The ``rota`` commands of examples/deploy (included by the deploy how-to): each unit's
    ``ExecStart=``, the Dockerfile's ``CMD`` and the ``docker run`` lines of its comment."""
    found = []
    for unit in sorted((ROOT / "examples" / "deploy").glob("*.service")):
        for text in unit.read_text().splitlines():
            if text.startswith("ExecStart="):
                words = shlex.split(text.removeprefix("ExecStart="))
                assert words[0].endswith("/rota"), text
                found.append((unit.name, shlex.join(words[1:])))
    docker = (ROOT / "examples" / "deploy" / "Dockerfile").read_text()
    for text in docker.replace("\\\n#", " ").splitlines():
        if text.startswith("CMD "):
            words = json.loads(text.removeprefix("CMD "))
            assert words[0] == "rota", text
            found.append(("Dockerfile", shlex.join(words[1:])))
        elif text.startswith("#") and "docker run" in text and " rota " in text:
            command = shlex.split(text.lstrip("# "), comments=True)
            found.append(("Dockerfile", shlex.join(command[command.index("rota") + 1 :])))
    return found


DEPLOY = deploy_lines()


def test_the_deploy_examples_hold_their_commands() -> None:
    assert len([f for f, _ in DEPLOY if f.endswith(".service")]) == 2
    assert len([f for f, _ in DEPLOY if f == "Dockerfile"]) == 3


@pytest.mark.parametrize(("file", "line"), DEPLOY)
def test_a_deploy_command_line_parses(file: str, line: str) -> None:
    parse(shlex.split(line))


def test_the_docs_hold_rota_command_lines() -> None:
    assert len(LINES) > 30


@pytest.mark.parametrize(("page", "line"), LINES)
def test_a_documented_command_line_parses(page: str, line: str) -> None:
    parse(shlex.split(line))


def test_a_wrong_option_or_command_is_refused() -> None:
    with pytest.raises(click.UsageError):
        parse(["worker", "--no-such-option"])
    with pytest.raises(click.UsageError):
        parse(["runs", "no-such-command"])
    with pytest.raises(click.UsageError):
        parse(["queues", "set", "mail", "--concurrency", "lots"])
