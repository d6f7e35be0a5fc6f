"""The human view of one run: its fields, progress, result, and every error with traceback."""

from __future__ import annotations

from datetime import datetime

import click

from rota.cli.output import Cell, fields, paint, state_cell, to_json_text, when
from rota.cli.waiting import describe_progress
from rota.runs import Run, RunState


def _attempts(run: Run) -> str:
    text = f"{run.attempt} of {run.max_attempts}"
    if run.cancel_requested and not run.state.terminal:
        text += " (cancel requested)"
    return text


def _started(run: Run, now: datetime) -> str:
    if run.started_at is None and run.state is RunState.RUNNING:
        return "not yet: claimed ahead by its node"
    return when(run.started_at, now)


def _duration(run: Run) -> str:
    if run.started_at is None:
        return "-"
    end = run.finished_at
    if end is not None:
        return f"{(end - run.started_at).total_seconds():.3f}s"
    return "running" if run.state is RunState.RUNNING else "-"  # waiting again (snoozed, ...)


def show_run(run: Run, now: datetime, execution_id: int | None = None) -> None:
    """``execution_id``: the batch execution a batch job's run carries (``rota batch show``)."""
    pairs: list[tuple[str, Cell]] = [
        ("id", str(run.id)),
        ("job", run.job),
        ("state", state_cell(run.state.value)),
        ("queue", run.queue),
        ("priority", str(run.priority)),
        ("attempts", _attempts(run)),
        ("args", to_json_text(run.args)),
        ("schedule", run.schedule or "-"),
        ("unique key", run.unique_key or "-"),
        ("created", when(run.created_at, now)),
        ("run at", when(run.run_at, now)),
        ("started", _started(run, now)),
        ("finished", when(run.finished_at, now)),
        ("duration", _duration(run)),
        ("node", run.node_id or "-"),
        ("progress", describe_progress(run) if run.progress else "-"),
        ("result", to_json_text(run.result) if run.result is not None else "-"),
        ("errors", str(len(run.errors)) if run.errors else "none"),
    ]
    if run.workflow is not None:
        step = f"step {run.step!r} of " if run.step is not None else ""
        pairs.insert(
            3, ("workflow", f"{step}workflow {run.workflow} (rota workflows show {run.workflow})")
        )
    if execution_id is not None:
        pairs.insert(3, ("batch", f"execution {execution_id} (rota batch show {execution_id})"))
    fields(pairs)
    for error in run.errors:
        _show_error(error, now)


def _at(value: object, now: datetime) -> str:
    try:
        return when(datetime.fromisoformat(str(value)), now)
    except ValueError:
        return str(value)


def _show_error(error: dict[str, object], now: datetime) -> None:
    click.echo()
    head = f"attempt {error.get('attempt')} at {_at(error.get('at'), now)}: {error.get('type')}"
    click.echo(paint(head, "red", bold=True) + f": {error.get('message')}")
    trace = str(error.get("traceback") or "").rstrip()
    for line in trace.splitlines():
        click.echo(f"    {line}")
