"""``rota launch`` and ``rota exec``: translate options into ``app.enqueue`` / ``app.runs.exec``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click

from rota.app import App
from rota.cli.errors import EXIT_FAILED, CliError, one_line
from rota.cli.output import note, paint, print_json, to_json_text
from rota.cli.params import Duration, IsoDateTime, WholeNumber, build_args
from rota.cli.session import Session
from rota.cli.waiting import wait_for_run
from rota.runs import Run, RunState

FC = TypeVar("FC", bound=Callable[..., Any])


def argument_options(f: FC) -> FC:
    """``JOB``, ``--arg k=v``... and ``--args-json``, shared by launch and exec."""
    f = click.option(
        "--args-json",
        metavar="JSON",
        help="Arguments as a JSON object (or @file.json); --arg values are merged over it.",
    )(f)
    f = click.option(
        "--arg",
        "pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="One argument; VALUE is JSON when it parses, except for parameters taken as text "
        "(str, datetime, date, time, UUID, Decimal).",
    )(f)
    return click.argument("job")(f)


def _args(app: App, job: str, pairs: tuple[str, ...], args_json: str | None) -> dict[str, Any]:
    return build_args(app.jobs.get(job), pairs, args_json)


def _error_line(run: Run) -> str:
    last = run.errors[-1] if run.errors else None
    detail = f": {last.get('type')}: {one_line(str(last.get('message')))}" if last else ""
    return f"run {run.id} ended {run.state.value}{detail} (see: rota runs show {run.id})"


def _finish(run: Run, as_json: bool) -> None:
    """Print the outcome of a finished run; exit 1 unless it succeeded.

    With ``--json`` the run object only (its ``result`` in it); else the result as JSON text
    on stdout, so a script gets it as ``exec`` and ``launch --wait`` alike print it.
    """
    if as_json:
        print_json(run.to_json())
    elif run.state is RunState.SUCCEEDED and run.result is not None:
        click.echo(to_json_text(run.result))
    if run.state is not RunState.SUCCEEDED:
        note(paint(f"rota: error: {_error_line(run)}", "red", err=True))
        raise click.exceptions.Exit(EXIT_FAILED)
    if not as_json:
        took = ""
        if run.started_at and run.finished_at:
            took = f" in {(run.finished_at - run.started_at).total_seconds():.2f}s"
        note(paint(f"run {run.id} succeeded{took}", "green", err=True))


@click.command()
@argument_options
@click.option("--delay", type=Duration(), help="Start after this long (seconds, or 30s, 5m, 2h).")
@click.option("--run-at", type=IsoDateTime(), help="Start at this ISO time (UTC if no offset).")
@click.option(
    "--priority",
    type=WholeNumber(-(2**31), 2**31 - 1),
    help="Lower starts first.",
    show_default="the job's",
)
@click.option("--queue", help="The queue to wait in.", show_default="the job's")
@click.option("--unique-key", help="While a run with this key is not finished, return it instead.")
@click.option(
    "--max-attempts",
    type=WholeNumber(1, 1_000_000),
    help="Attempts before it fails.",
    show_default="the job's",
)
@click.option("--wait", is_flag=True, help="Wait until the run ends, showing its progress.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the run as JSON (with --wait: at its end)."
)
@click.pass_obj
def launch(
    session: Session,
    job: str,
    pairs: tuple[str, ...],
    args_json: str | None,
    delay: timedelta | None,
    run_at: datetime | None,
    priority: int | None,
    queue: str | None,
    unique_key: str | None,
    max_attempts: int | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Create a run of JOB and print its id; with --wait, wait and print its result.

    With --json, the run as JSON instead (with --wait, the finished run). With --wait, exit 1
    if the run failed.
    """
    app = session.app(jobs=True)
    args = _args(app, job, pairs, args_json)
    given = {
        "delay": delay,
        "run_at": run_at,
        "priority": priority,
        "queue": queue,
        "unique_key": unique_key,
        "max_attempts": max_attempts,
    }
    handle = app.enqueue(job, args, **{k: v for k, v in given.items() if v is not None})
    if not handle.created:
        note(f"run {handle.id} with unique key {unique_key!r} exists already: not launched again")
    if wait:
        if not as_json:
            click.echo(handle.id)
        _finish(wait_for_run(app, handle.id), as_json)
    elif as_json:
        print_json(app.runs.get(handle.id).to_json())
    else:
        click.echo(handle.id)


@click.command("exec")
@argument_options
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@click.pass_obj
def exec_(
    session: Session, job: str, pairs: tuple[str, ...], args_json: str | None, as_json: bool
) -> None:
    """Run JOB in this process now, recorded as a run; exit 1 if it fails."""
    app = session.app(jobs=True)
    args = _args(app, job, pairs, args_json)
    run = app.runs.exec(job, args)
    if not run.state.terminal:
        raise CliError(f"run {run.id} did not finish here: it is {run.state.value}", EXIT_FAILED)
    _finish(run, as_json)
