"""Help pages: whole command summaries and option defaults, whatever the terminal's width.

click cuts a command's summary in a group's command list to what fits on one line and ends it
with "..." ("exit 1 if..."), which hides the half that matters; here the first sentence is
shown whole and wraps instead.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import click

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "show_default": True,  # inherited by every subcommand's context
    "max_content_width": 100,
}

_SENTENCE_END = re.compile(r"(?<!\.)[.!?](?=\s|$)")  # not the end of an ellipsis


def summary(command: click.Command) -> str:
    """The command's ``short_help``, else the first sentence of its help, never cut."""
    if command.short_help:
        return " ".join(command.short_help.split())
    first = inspect.cleandoc(command.help or "").split("\n\n", 1)[0]
    text = " ".join(first.replace("\b", "").split())
    end = _SENTENCE_END.search(text)
    return text[: end.end()] if end else text


class Group(click.Group):
    """A click group whose command list shows each summary whole (wrapped, not cut)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
