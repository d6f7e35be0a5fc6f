"""``rota batch``: list, show, restart, stop and abandon batch executions (the App's verbs)."""

from __future__ import annotations

from datetime import datetime

import click

from rota.batch.model import BatchExecution, BatchState, StepExecution, step_json
from rota.cli.output import (
    Cell,
    fields,
    none_found,
    note,
    print_json,
    short_when,
    state_cell,
    table,
    to_json_text,
    when,
)
from rota.cli.params import ID, Choice, IdCommand, WholeNumber
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.limits import MAX_PAGE

STATES = Choice([s.value for s in BatchState], case_sensitive=False)
EXECUTION_ID = ID
PAGE = WholeNumber(1, MAX_PAGE, "a page size")


@click.group(cls=Group)
def batch() -> None:
    """Batch executions: list, show, restart, stop, abandon."""


# -- presenting ---------------------------------------------------------------------------


def _top_steps(e: BatchExecution) -> list[StepExecution]:
    return [s for s in e.steps if s.partition < 0]


def _counts(e: BatchExecution) -> tuple[int, int]:
    """Items read and written over the execution's steps (a partitioned step: its partitions)."""
    read = written = 0
    for s in _top_steps(e):
        data = step_json(e.steps, s)
        read += int(data["read"])
        written += int(data["written"])
    return read, written


def _row(e: BatchExecution, now: datetime) -> list[Cell]:
    steps = _top_steps(e)
    done = sum(1 for s in steps if s.state is BatchState.COMPLETED)
    read, written = _counts(e)
    return [
        str(e.id),
        e.job,
        state_cell(e.current_state.value),
        "-" if e.run_id is None else str(e.run_id),
        f"{done}/{len(steps)}",
        f"{read}/{written}",
        short_when(e.started_at, now),
        short_when(e.finished_at, now),
    ]


def _duration(started: datetime | None, finished: datetime | None) -> str:
    if started is None:
        return "-"
    return f"{(finished - started).total_seconds():.3f}s" if finished else "running"


def _step_row(label: str, data: dict[str, object], s: StepExecution) -> list[Cell]:
    return [
        label,
        state_cell(s.state.value),
        *(str(data[k]) for k in ("read", "written", "skipped", "filtered", "commits")),
        _duration(s.started_at, s.finished_at),
        str(s.error or "-"),
    ]


def _steps_table(e: BatchExecution) -> None:
    rows: list[list[Cell]] = []
    for s in _top_steps(e):
        rows.append(_step_row(s.name, step_json(e.steps, s), s))
        for p in (r for r in e.steps if r.name == s.name and r.partition >= 0):
            run = "" if p.run_id is None else f" (run {p.run_id})"
            rows.append(_step_row(f"  partition {p.partition}{run}", p.to_json(), p))
    headers = ["STEP", "STATE", "READ", "WRITTEN", "SKIPPED", "FILTERED", "COMMITS", "DURATION"]
    table([*headers, "ERROR"], rows, empty="no steps")


def _show(e: BatchExecution, now: datetime) -> None:
    run = "-" if e.run_id is None else str(e.run_id)
    if e.run_id is not None and e.run_state:
        run += f" ({e.run_state})"
    pairs: list[tuple[str, Cell]] = [
        ("id", str(e.id)),
        ("job", e.job),
        ("args", to_json_text(e.args)),
        ("state", state_cell(e.current_state.value)),
        ("exit status", e.exit_status or "-"),
        ("run", run),
        ("instance", str(e.instance_id)),
        ("restart of", "-" if e.restart_of is None else str(e.restart_of)),
        ("created", when(e.created_at, now)),
        ("started", when(e.started_at, now)),
        ("finished", when(e.finished_at, now)),
        ("duration", _duration(e.started_at, e.finished_at)),
        ("error", e.error or "-"),
    ]
    fields(pairs)
    click.echo()
    if not _top_steps(e):
        click.echo("steps: none yet")
        return
    _steps_table(e)


# -- commands -----------------------------------------------------------------------------


@batch.command("list")
@click.option("--job", help="Only executions of this batch job.")
@click.option("--state", "states", type=STATES, multiple=True, help="Only this state (repeatable).")
@click.option("--limit", type=PAGE, default=50, show_default=True, help="Executions per page.")
@click.option("--cursor", type=EXECUTION_ID, help="Continue after this execution id.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_(
    session: Session,
    job: str | None,
    states: tuple[str, ...],
    limit: int,
    cursor: int | None,
    as_json: bool,
) -> None:
    """Batch executions, newest first."""
    app = session.app()
    found = app.batches.list(
        job=job, states=[BatchState(s.lower()) for s in states], limit=limit, before_id=cursor
    )
    if as_json:
        print_json([e.to_json() for e in found])
        return
    now = app.clock.now()
    headers = ["ID", "JOB", "STATE", "RUN", "STEPS", "READ/WRITTEN", "STARTED", "FINISHED"]
    filters = [("--job", job), ("--state", states), ("--cursor", cursor)]
    table(headers, [_row(e, now) for e in found], empty=none_found("batch executions", filters))
    if len(found) == limit:
        note(f"more: --cursor {found[-1].id}")


@batch.command(cls=IdCommand)
@click.argument("execution_id", type=EXECUTION_ID)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def show(session: Session, execution_id: int, as_json: bool) -> None:
    """One execution with its steps (and the partitions of a partitioned step)."""
    app = session.app()
    execution = app.batches.get(execution_id)
    if as_json:
        print_json(execution.to_json())
    else:
        _show(execution, app.clock.now())


@batch.command(cls=IdCommand)
@click.argument("execution_id", type=EXECUTION_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the new execution as JSON.")
@click.pass_obj
def restart(session: Session, execution_id: int, as_json: bool) -> None:
    """Restart a failed or stopped execution as a new one.

    Completed steps are skipped and the failed step resumes after its last committed chunk.
    """
    app = session.app(jobs=True)
    created = app.batches.restart(execution_id)
    if as_json:
        print_json(created.to_json())
    else:
        click.echo(
            f"execution {execution_id} restarted as execution {created.id} (run {created.run_id})"
        )


@batch.command(cls=IdCommand)
@click.argument("execution_id", type=EXECUTION_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@click.pass_obj
def stop(session: Session, execution_id: int, as_json: bool) -> None:
    """Stop a running execution at its next chunk boundary (it can be restarted)."""
    app = session.app()
    before = app.batches.get(execution_id).current_state
    after = app.batches.stop(execution_id)
    if as_json:
        print_json(after.to_json())
    elif before in (BatchState.STOPPING, BatchState.STOPPED):
        click.echo(f"execution {execution_id} was already {after.current_state.value}")
    elif after.current_state is BatchState.STOPPED:
        click.echo(f"execution {execution_id} stopped")
    else:
        click.echo(f"execution {execution_id} stopping: it stops at its next chunk boundary")


@batch.command(cls=IdCommand)
@click.argument("execution_id", type=EXECUTION_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON.")
@click.pass_obj
def abandon(session: Session, execution_id: int, as_json: bool) -> None:
    """Mark a failed or stopped execution, and so its instance, never to be restarted."""
    app = session.app()
    before = app.batches.get(execution_id).current_state
    after = app.batches.abandon(execution_id)
    if as_json:
        print_json(after.to_json())
    elif before is BatchState.ABANDONED:
        click.echo(f"execution {execution_id} was already abandoned")
    else:
        click.echo(f"execution {execution_id} abandoned: its instance is never run again")
