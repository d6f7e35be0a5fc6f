"""``rota schedules``: list, show, pause, resume and trigger (the App's schedule verbs).

A schedule declared with ``@app.periodic`` is stored when a scheduler starts. Before that,
``list`` and ``show`` present it as it would be stored now (marked pending, nothing written),
and ``pause``, ``resume`` and ``trigger`` store the app's declared schedules first, as a
starting scheduler would, so that they act on the real row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from rota.app import App
from rota.cli.output import Cell, fields, note, print_json, short_when, table, to_json_text, when
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.errors import ScheduleNotFound
from rota.scheduling.definitions import schedule_json
from rota.scheduling.model import FireRecord, Schedule
from rota.usecases.schedules import upcoming

PENDING_NOTE = "pending: declared in the app, stored when a scheduler starts"
FIRE_COLOURS = {"fired": "green", "triggered": "green", "missed": "red", "skipped": "yellow"}


@click.group(cls=Group)
def schedules() -> None:
    """Schedules: list, show, pause, resume, trigger."""


# -- finding schedules --------------------------------------------------------------------


def _listed(app: App) -> tuple[list[Schedule], set[str]]:
    """Stored schedules plus the app's declared ones not stored yet (their names apart)."""
    stored = app.schedules.list()
    names = {s.name for s in stored}
    now = app.clock.now()
    pending = [s.to_schedule(now) for s in app.schedules.declared() if s.name not in names]
    return sorted([*stored, *pending], key=lambda s: s.name), {s.name for s in pending}


def _find(app: App, name: str) -> tuple[Schedule, bool]:
    """The schedule named ``name`` and whether it is only declared (not stored yet)."""
    try:
        return app.schedules.get(name), False
    except ScheduleNotFound:
        for spec in app.schedules.declared():
            if spec.name == name:
                return spec.to_schedule(app.clock.now()), True
        raise


def _stored(app: App, name: str) -> Schedule:
    """The stored schedule, storing the app's declared schedules first if it is one of them."""
    try:
        return app.schedules.get(name)
    except ScheduleNotFound:
        if not any(spec.name == name for spec in app.schedules.declared()):
            raise
    app.schedules.sync()
    return app.schedules.get(name)


# -- presenting ---------------------------------------------------------------------------


def _state(s: Schedule) -> Cell:
    return ("paused", "yellow") if s.paused else ("active", "green")


def _row(s: Schedule, pending: bool, now: datetime) -> list[Cell]:
    data = schedule_json(s)
    return [
        s.name,
        s.job,
        str(data["trigger"]),
        "-" if s.paused else short_when(s.next_fire_at, now),
        short_when(s.last_fire_at, now),
        _state(s),
        f"{s.source} (pending)" if pending else s.source,
    ]


def _show(
    s: Schedule, pending: bool, next_fires: list[datetime], fires: list[FireRecord], now: datetime
) -> None:
    data = schedule_json(s)
    grace = f"{s.misfire_grace:g}s"
    pairs: list[tuple[str, Cell]] = [
        ("name", s.name),
        ("job", s.job),
        ("trigger", str(data["trigger"])),
        ("kwargs", to_json_text(s.kwargs)),
        ("state", _state(s)),
        ("source", f"{s.source} ({PENDING_NOTE})" if pending else s.source),
        ("misfire", f"{s.misfire} (grace {grace})"),
        ("overlap", "allowed" if s.overlap else "skipped while a run is unfinished"),
        ("options", to_json_text(s.options) if s.options else "-"),
        ("next fire", "- (paused)" if s.paused else when(s.next_fire_at, now)),
        ("last fire", when(s.last_fire_at, now)),
        ("updated", when(s.updated_at, now) if not pending else "-"),
    ]
    fields(pairs)
    click.echo()
    click.echo("next fires:" if next_fires else "next fires: none")
    for at in next_fires:
        click.echo(f"  {when(at, now)}")
    click.echo()
    if not fires:
        click.echo("recent fires: none")
        return
    click.echo("recent fires:")
    rows: list[list[Cell]] = [
        [
            when(f.fire_time, now),
            (f.outcome, FIRE_COLOURS.get(f.outcome)),
            "-" if f.run_id is None else str(f.run_id),
            f.node_id or "-",
        ]
        for f in fires
    ]
    table(["FIRE TIME", "OUTCOME", "RUN", "NODE"], rows, empty="no fires")


# -- commands -----------------------------------------------------------------------------


@schedules.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_(session: Session, as_json: bool) -> None:
    """Schedules with their trigger, next fire time, state and source."""
    app = session.app()
    found, pending = _listed(app)
    if as_json:
        print_json([schedule_json(s) for s in found])
        return
    now = app.clock.now()
    headers = ["NAME", "JOB", "TRIGGER", "NEXT FIRE", "LAST FIRE", "STATE", "SOURCE"]
    table(headers, [_row(s, s.name in pending, now) for s in found], empty="no schedules")
    if pending:
        note(PENDING_NOTE)


@schedules.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def show(session: Session, name: str, as_json: bool) -> None:
    """One schedule with its next 5 fire times and its last 20 fires."""
    app = session.app()
    schedule, pending = _find(app, name)
    now = app.clock.now()
    if pending:
        next_fires, fires = upcoming(schedule, 5, now), []
    else:
        next_fires, fires = app.schedules.upcoming(name, 5), app.schedules.fires(name, 20)
    if as_json:
        data: dict[str, Any] = schedule_json(schedule)
        data["next_fires"] = [t.isoformat() for t in next_fires]
        data["fires"] = [f.to_json() for f in fires]
        print_json(data)
        return
    _show(schedule, pending, next_fires, fires, now)


@schedules.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the schedule as JSON.")
@click.pass_obj
def pause(session: Session, name: str, as_json: bool) -> None:
    """Pause a schedule: it creates no runs until resumed."""
    app = session.app()
    was_paused = _stored(app, name).paused
    paused = app.schedules.pause(name)
    if as_json:
        print_json(schedule_json(paused))
    elif was_paused:
        click.echo(f"schedule {name} was already paused")
    else:
        click.echo(f"schedule {name} paused")


@schedules.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the schedule as JSON.")
@click.pass_obj
def resume(session: Session, name: str, as_json: bool) -> None:
    """Resume a schedule from now on (fire times that passed while paused do not run)."""
    app = session.app()
    was_paused = _stored(app, name).paused
    resumed = app.schedules.resume(name)
    if as_json:
        print_json(schedule_json(resumed))
        return
    state = "resumed" if was_paused else "was not paused"
    click.echo(f"schedule {name} {state}: next fire {when(resumed.next_fire_at, app.clock.now())}")


@schedules.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@click.pass_obj
def trigger(session: Session, name: str, as_json: bool) -> None:
    """One run of the schedule's job now (the schedule itself is unchanged); prints its id."""
    app = session.app(jobs=True)
    _stored(app, name)
    handle = app.schedules.trigger(name)
    if as_json:
        print_json(app.runs.get(handle.id).to_json())
    else:
        click.echo(handle.id)
