"""``rota workflows``: list, show, retry and cancel workflows (the verbs of ``app.workflows``)."""

from __future__ import annotations

from datetime import datetime

import click

from rota.cli.errors import EXIT_FAILED
from rota.cli.output import (
    Cell,
    fields,
    none_found,
    note,
    print_json,
    short_when,
    state_cell,
    table,
    when,
)
from rota.cli.params import ID, IdCommand, WholeNumber
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.limits import MAX_PAGE
from rota.runs import RunState
from rota.workflows import WorkflowRecord

WORKFLOW_ID = ID
PAGE = WholeNumber(1, MAX_PAGE, "a page size")


@click.group(cls=Group)
def workflows() -> None:
    """Workflows: list, show, retry, cancel."""


# -- presenting ---------------------------------------------------------------------------


def _succeeded(wf: WorkflowRecord) -> str:
    done = sum(1 for s in wf.steps if s.state is RunState.SUCCEEDED)
    return f"{done}/{len(wf.steps)}"


def _row(wf: WorkflowRecord, now: datetime) -> list[Cell]:
    return [
        str(wf.id),
        wf.name,
        state_cell(wf.state.value),
        _succeeded(wf),
        short_when(wf.created_at, now),
        short_when(wf.finished_at, now),
    ]


def _show(wf: WorkflowRecord, now: datetime) -> None:
    pairs: list[tuple[str, Cell]] = [
        ("id", str(wf.id)),
        ("name", wf.name),
        ("state", state_cell(wf.state.value)),
        ("succeeded", f"{_succeeded(wf)} steps"),
        ("created", when(wf.created_at, now)),
        ("finished", when(wf.finished_at, now)),
    ]
    if wf.parent_run_id is not None:
        pairs.append(("launched by", f"run {wf.parent_run_id}"))
    fields(pairs)
    click.echo()
    rows: list[list[Cell]] = [
        [s.name, s.job, str(s.run_id), state_cell(s.state.value), ", ".join(s.after) or "-"]
        for s in wf.steps
    ]
    table(["STEP", "JOB", "RUN", "STATE", "AFTER"], rows, empty="no steps")


def _names(names: list[str]) -> str:
    return ", ".join(names)


# -- commands -----------------------------------------------------------------------------


@workflows.command("list")
@click.option("--limit", type=PAGE, default=50, show_default=True, help="Workflows per page.")
@click.option("--cursor", type=WORKFLOW_ID, help="Continue after this workflow id.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_(session: Session, limit: int, cursor: int | None, as_json: bool) -> None:
    """Workflows, newest first: state, steps succeeded, created, finished."""
    app = session.app()
    found = app.workflows.list(limit=limit, before_id=cursor)
    if as_json:
        print_json([wf.to_json() for wf in found])
        return
    now = app.clock.now()
    headers = ["ID", "NAME", "STATE", "SUCCEEDED", "CREATED", "FINISHED"]
    empty = none_found("workflows", [("--cursor", cursor)])
    table(headers, [_row(wf, now) for wf in found], empty=empty)
    if len(found) == limit:
        note(f"more: --cursor {found[-1].id}")


@workflows.command(cls=IdCommand)
@click.argument("workflow_id", type=WORKFLOW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def show(session: Session, workflow_id: int, as_json: bool) -> None:
    """One workflow with its steps: job, run id, state and the steps each comes after."""
    app = session.app()
    wf = app.workflows.show(workflow_id)
    if as_json:
        print_json(wf.to_json())
    else:
        _show(wf, app.clock.now())


@workflows.command(cls=IdCommand)
@click.argument("workflow_id", type=WORKFLOW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the workflow as JSON.")
@click.pass_obj
def retry(session: Session, workflow_id: int, as_json: bool) -> None:
    """Put the failed and cancelled steps back; the steps that succeeded do not run again.

    Exits 1 when the workflow has no failed or cancelled step to put back.
    """
    app = session.app()
    before = app.workflows.show(workflow_id)  # unknown id: exit 3, nothing changed
    retried = set(app.workflows.retry(workflow_id))
    names = [s.name for s in before.steps if s.run_id in retried]
    if as_json:
        print_json(app.workflows.show(workflow_id).to_json())
    elif names:
        click.echo(f"workflow {workflow_id}: retried {len(names)} step(s): {_names(names)}")
    if not names:
        note(
            f"workflow {workflow_id} is {before.state.value}: "
            "it has no failed or cancelled step to retry"
        )
        raise click.exceptions.Exit(EXIT_FAILED)


@workflows.command(cls=IdCommand)
@click.argument("workflow_id", type=WORKFLOW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the workflow as JSON.")
@click.pass_obj
def cancel(session: Session, workflow_id: int, as_json: bool) -> None:
    """Cancel every step not ended: waiting and queued ones at once, running ones are asked
    to stop."""
    app = session.app()
    before = app.workflows.show(workflow_id)  # unknown id: exit 3, nothing changed
    open_steps = {s.name for s in before.steps if not s.state.terminal}
    after = app.workflows.cancel(workflow_id) if open_steps else before
    if as_json:
        print_json(after.to_json())
        return
    if not open_steps:
        click.echo(f"workflow {workflow_id} already {before.state.value}: left as it is")
        return
    cancelled = [
        s.name for s in after.steps if s.name in open_steps and s.state is RunState.CANCELLED
    ]
    running = [s.name for s in after.steps if s.name in open_steps and not s.state.terminal]
    line = f"workflow {workflow_id}: cancelled {len(cancelled)} step(s)"
    if running:
        line += f", asked {len(running)} running step(s) to stop: {_names(running)}"
    click.echo(line)
