"""``rota jobs`` and ``rota nodes``: what the app defines and who is in the cluster."""

from __future__ import annotations

from typing import Any

import click

from rota.cli.output import Cell, print_json, short_when, state_cell, table
from rota.cli.session import Session


def _param_text(p: dict[str, Any]) -> str:
    text = f"{p['name']}: {p['type']}"
    return text if p.get("required") else f"{text} = {p.get('default')!r}"


def _job_row(d: dict[str, Any]) -> list[Cell]:
    doc = str(d.get("doc") or "").strip().splitlines()
    return [
        str(d["name"]),
        str(d["queue"]),
        str(d["priority"]),
        str(d["max_attempts"]),
        "-" if d.get("timeout") is None else f"{d['timeout']:g}s",
        ", ".join(_param_text(p) for p in d["params"]) or "-",
        doc[0] if doc else "",
    ]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def jobs(session: Session, as_json: bool) -> None:
    """The jobs your app defines, with their parameters."""
    app = session.app(jobs=True)
    described = [spec.describe() for _, spec in sorted(app.jobs.items())]
    if as_json:
        print_json(described)
        return
    headers = ["NAME", "QUEUE", "PRIORITY", "ATTEMPTS", "TIMEOUT", "PARAMETERS", "DESCRIPTION"]
    table(headers, [_job_row(d) for d in described], empty="no jobs defined")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def nodes(session: Session, as_json: bool) -> None:
    """Live and recently dead nodes (workers, schedulers, servers) of the cluster."""
    app = session.app()
    now = app.clock.now()
    listed = app.nodes.list()
    if as_json:
        print_json([n.to_json(now, app.lease_seconds) for n in listed])
        return
    rows: list[list[Cell]] = [
        [
            n.id,
            state_cell(str(n.to_json(now, app.lease_seconds)["state"])),
            ",".join(n.roles) or "-",
            n.hostname,
            str(n.pid),
            short_when(n.started_at, now),
            short_when(n.last_seen_at, now),
        ]
        for n in listed
    ]
    table(["ID", "STATE", "ROLES", "HOST", "PID", "STARTED", "LAST SEEN"], rows, empty="no nodes")
