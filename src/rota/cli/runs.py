"""``rota runs``: list, show, retry, cancel and purge (the use cases behind ``app.runs``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from rota.app import App
from rota.cli.errors import EXIT_FAILED, CliError
from rota.cli.output import Cell, none_found, note, print_json, short_when, state_cell, table
from rota.cli.params import AGE, ID, Choice, IdCommand, IsoDateTime, WholeNumber
from rota.cli.runs_show import show_run
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.limits import MAX_PAGE, SEARCH_SCOPE
from rota.runs import Run, RunState
from rota.usecases.runs import retry_refusal

STATES = Choice([s.value for s in RunState], case_sensitive=False)
TERMINAL = Choice([s.value for s in RunState if s.terminal], case_sensitive=False)
RETRYABLE = Choice(["failed", "cancelled"], case_sensitive=False)
RUN_ID = ID
PAGE = WholeNumber(1, MAX_PAGE, "a page size")


@click.group(cls=Group)
def runs() -> None:
    """Runs: list, show, retry, cancel, purge."""


def _row(run: Run, now: datetime) -> list[Cell]:
    return [
        str(run.id),
        run.job,
        state_cell(run.state.value),
        run.queue,
        f"{run.attempt}/{run.max_attempts}",
        short_when(run.created_at, now),
        short_when(run.run_at if not run.state.terminal else run.finished_at, now),
    ]


@runs.command("list")
@click.option("--state", "states", type=STATES, multiple=True, help="Only this state (repeatable).")
@click.option("--job", help="Only runs of this job.")
@click.option("--queue", help="Only runs in this queue.")
@click.option("--limit", type=PAGE, default=50, show_default=True, help="Runs per page.")
@click.option("--cursor", type=RUN_ID, help="Continue after this run id (from the last page).")
@click.option("--created-after", type=IsoDateTime(), help="Only runs created at/after (ISO).")
@click.option("--created-before", type=IsoDateTime(), help="Only runs created before (ISO).")
@click.option(
    "--search",
    help="Only runs whose arguments contain this text (any case); one call reads "
    f"{SEARCH_SCOPE:,} runs at most, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_(
    session: Session,
    states: tuple[str, ...],
    job: str | None,
    queue: str | None,
    limit: int,
    cursor: int | None,
    created_after: datetime | None,
    created_before: datetime | None,
    search: str | None,
    as_json: bool,
) -> None:
    """Runs, newest first."""
    app = session.app()
    found = app.runs.list(
        states=[RunState(s.lower()) for s in states],
        job=job,
        queue=queue,
        limit=limit,
        before_id=cursor,
        created_after=created_after,
        created_before=created_before,
        search=search,
    )
    if as_json:
        print_json([r.to_json() for r in found])
        _search_note(app, search, cursor, len(found) < limit)
        return
    now = app.clock.now()
    headers = ["ID", "JOB", "STATE", "QUEUE", "ATTEMPT", "CREATED", "DUE / ENDED"]
    filters = [
        ("--state", states),
        ("--job", job),
        ("--queue", queue),
        ("--cursor", cursor),
        ("--created-after", created_after and created_after.isoformat()),
        ("--created-before", created_before and created_before.isoformat()),
        ("--search", search),
    ]
    table(headers, [_row(r, now) for r in found], empty=none_found("runs", filters))
    if len(found) == limit:
        note(f"more: --cursor {found[-1].id}")
    _search_note(app, search, cursor, len(found) < limit)


def _search_note(app: App, search: str | None, cursor: int | None, short: bool) -> None:
    """Where a search that came back short stopped reading, and how to search on."""
    floor = app.runs.search_floor(cursor) if search is not None and short else None
    if floor is not None:
        note(
            f"a search reads at most {SEARCH_SCOPE:,} runs at a time, newest first; "
            f"older runs: --cursor {floor}"
        )


@runs.command(cls=IdCommand)
@click.argument("run_id", type=RUN_ID)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def show(session: Session, run_id: int, as_json: bool) -> None:
    """One run with its attempts, errors (with tracebacks), result and progress."""
    app = session.app()
    run = app.runs.get(run_id)
    if as_json:
        print_json(run.to_json())
    else:
        execution = app.batches.for_run(run.id) if run.kind == "batch" else None
        show_run(run, app.clock.now(), execution.id if execution else None)


@runs.command(cls=IdCommand)
@click.argument("run_ids", type=RUN_ID, nargs=-1)
@click.option("--state", type=RETRYABLE, help="Retry every run in this state instead of IDs.")
@click.option("--job", help="With --state: only runs of this job.")
@click.pass_obj
def retry(session: Session, run_ids: tuple[int, ...], state: str | None, job: str | None) -> None:
    """Put failed or cancelled runs back to queued: RUN_ID... or --state failed [--job J]."""
    if bool(run_ids) == bool(state):
        raise CliError("give run ids or --state, not both and not neither")
    if job and not state:
        raise CliError("--job goes with --state")
    app = session.app()
    if state:
        count = app.runs.retry_where(RunState(state.lower()), job=job)
        click.echo(f"retried {count} run(s)")
        return
    ids = list(dict.fromkeys(run_ids))
    before = {rid: app.runs.get(rid) for rid in ids}  # unknown id: exit 3, nothing changed
    retried = set(app.runs.retry(ids))
    click.echo(f"retried {len(retried)} run(s)")
    skipped = [rid for rid in ids if rid not in retried]
    for rid in skipped:
        note(retry_refusal(before[rid]))
    if skipped:
        raise click.exceptions.Exit(EXIT_FAILED)


@runs.command(cls=IdCommand)
@click.argument("run_ids", type=RUN_ID, nargs=-1, required=True)
@click.pass_obj
def cancel(session: Session, run_ids: tuple[int, ...]) -> None:
    """Cancel waiting runs at once; running ones are asked to stop."""
    app = session.app()
    ids = list(dict.fromkeys(run_ids))
    before = {rid: app.runs.get(rid).state for rid in ids}  # unknown id: exit 3, nothing changed
    after = app.runs.cancel_many(ids)
    cancelled = requested = 0
    for rid in ids:
        old, new = before[rid], after[rid]
        if new is RunState.CANCELLED and not old.terminal:
            cancelled += 1
        elif new.terminal:
            note(f"run {rid} already {new.value}: left as it is")
        else:
            requested += 1
            note(f"run {rid} is {new.value}: cancellation requested")
    click.echo(f"cancelled {cancelled} run(s), requested {requested}")


@runs.command()
@click.option(
    "--state",
    "states",
    type=TERMINAL,
    multiple=True,
    required=True,
    help="Delete runs in this terminal state (repeatable).",
)
@click.option("--older-than", type=AGE, help="Only runs finished longer ago (e.g. 7d).")
@click.pass_obj
def purge(session: Session, states: tuple[str, ...], older_than: timedelta | None) -> None:
    """Delete finished runs: --state S [--older-than 7d]."""
    app = session.app()
    count = app.runs.purge([RunState(s.lower()) for s in states], older_than)
    click.echo(f"purged {count} run(s)")
