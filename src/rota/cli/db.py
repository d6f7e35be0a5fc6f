"""``rota db upgrade`` and ``rota db status``: the schema, explicitly."""

from __future__ import annotations

import os
from typing import Any

import click

from rota.cli.output import fields, note, print_json
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.storage import backend_of, open_store, redact
from rota.storage.sql import load_migrations


def latest_version(backend: str) -> int | None:
    """The newest migration this install ships for ``backend`` (None if it ships none)."""
    try:
        found = load_migrations(f"rota.storage.{backend}")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        return None
    return found[-1][0] if found else None


@click.group(cls=Group)
def db() -> None:
    """The database schema."""


@db.command()
@click.pass_obj
def upgrade(session: Session) -> None:
    """Create or upgrade the schema (safe while other nodes run)."""
    app = session.app()
    version = app.store.schema_version()  # opening the store migrates
    note(f"database {redact(app.database_url)}")
    click.echo(f"schema version {version}: up to date")


def _status(url: str) -> dict[str, Any]:
    backend = backend_of(url)
    latest = latest_version(backend)
    store = open_store(url)
    try:
        path = getattr(store, "path", None)
        exists = not (backend == "sqlite" and isinstance(path, str) and not os.path.exists(path))
        version = store.schema_version() if exists else 0
        counts = {s.value: n for s, n in store.runs_count_by_state().items()} if version else {}
    finally:
        store.close()
    return {
        "url": redact(url),
        "backend": backend,
        "schema_version": version,
        "latest_version": latest,
        "up_to_date": latest is not None and version >= latest,
        "runs": counts,
    }


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_obj
def status(session: Session, as_json: bool) -> None:
    """The schema version, whether it needs an upgrade, and runs by state (changes nothing)."""
    info = _status(session.app().database_url)
    if as_json:
        print_json(info)
        return
    version, latest = info["schema_version"], info["latest_version"]
    if version == 0:
        verdict = ("no schema yet: run 'rota db upgrade'", "yellow")
    elif info["up_to_date"]:
        verdict = ("up to date", "green")
    else:
        verdict = (f"needs upgrade to {latest}: run 'rota db upgrade'", "yellow")
    runs = ", ".join(f"{n} {s}" for s, n in sorted(info["runs"].items())) or "none"
    fields(
        [
            ("database", str(info["url"])),
            ("backend", str(info["backend"])),
            ("schema", f"version {version} (this rota ships {latest})"),
            ("status", verdict),
            ("runs", runs),
        ]
    )
