"""Printing: JSON for scripts; aligned tables, times and colour (on a TTY only) for people."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

Cell = str | tuple[str, str | None]
"""A table cell: its text, or (text, colour name)."""

STATE_COLOURS = {
    "scheduled": "cyan",
    "waiting": "cyan",
    "queued": "blue",
    "running": "yellow",
    "retrying": "magenta",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "bright_black",
    "alive": "green",
    "dead": "red",
    "stopped": "bright_black",
    "starting": "blue",
    "started": "yellow",
    "completed": "green",
    "stopping": "magenta",
    "abandoned": "bright_black",
}


def colour_enabled(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, colour: str | None, *, bold: bool = False, err: bool = False) -> str:
    if not colour_enabled(sys.stderr if err else sys.stdout) or (colour is None and not bold):
        return text
    return click.style(text, fg=colour, bold=bold)


def state_cell(state: str) -> Cell:
    return (state, STATE_COLOURS.get(state))


def print_json(value: Any) -> None:
    """Only JSON on stdout: what ``--json`` promises."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def to_json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def note(message: str) -> None:
    """A line for people, on stderr (never mixed into stdout)."""
    click.echo(message, err=True)


def none_found(noun: str, filters: Sequence[tuple[str, Any]] = ()) -> str:
    """What an empty list says: ``no runs``, or ``no runs match --state failed --job add``.

    ``filters`` are (option, value) pairs as given; None or empty values were not given, and a
    tuple is an option given more than once.
    """
    given: list[str] = []
    for option, value in filters:
        for one in value if isinstance(value, tuple | list) else (value,):
            if one is not None and one != "":
                given.append(f"{option} {shlex.quote(str(one))}")
    return f"no {noun} match {' '.join(given)}" if given else f"no {noun}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, empty: str) -> None:
    """An aligned table on stdout; colours apply after padding so columns stay straight.

    With no rows, the line ``empty`` on stderr instead of a lone header: stdout stays empty
    (no rows for a script to read) and a person reads why.
    """
    if not rows:
        note(empty)
        return
    plain = [[c if isinstance(c, str) else c[0] for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for texts in plain:
        for i, text in enumerate(texts):
            widths[i] = max(widths[i], len(text))
    last = len(headers) - 1
    head = "  ".join(h.ljust(widths[i]) if i < last else h for i, h in enumerate(headers))
    click.echo(paint(head, None, bold=True))
    for row, texts in zip(rows, plain, strict=True):
        parts = []
        for i, (cell, text) in enumerate(zip(row, texts, strict=True)):
            padded = text.ljust(widths[i]) if i < last else text
            parts.append(padded if isinstance(cell, str) else paint(padded, cell[1]))
        click.echo("  ".join(parts).rstrip())


def fields(pairs: Sequence[tuple[str, Cell]]) -> None:
    """``label: value`` lines with the labels aligned (a one-object view)."""
    width = max((len(label) for label, _ in pairs), default=0)
    for label, cell in pairs:
        text = cell if isinstance(cell, str) else paint(cell[0], cell[1])
        click.echo(f"{paint(label.ljust(width), None, bold=True)}  {text}")


def relative(at: datetime, now: datetime) -> str:
    """``5s ago``, ``in 3m``, ``2h ago``, ``just now``."""
    seconds = (now - at).total_seconds()
    size = abs(seconds)
    if size < 1:
        return "just now"
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if size >= span:
            amount = f"{int(size // span)}{unit}"
            break
    else:
        amount = f"{int(size)}s"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def when(at: datetime | None, now: datetime) -> str:
    """Local absolute time plus relative time, or ``-``."""
    if at is None:
        return "-"
    return f"{at.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({relative(at, now)})"


def short_when(at: datetime | None, now: datetime) -> str:
    """Compact form for tables: time of day if today, else the date, plus relative time."""
    if at is None:
        return "-"
    local, today = at.astimezone(), now.astimezone()
    stamp = local.strftime("%H:%M:%S" if local.date() == today.date() else "%Y-%m-%d %H:%M")
    return f"{stamp} ({relative(at, now)})"
