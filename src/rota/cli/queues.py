"""``rota queues``: list, pause, resume and set limits (the App's queue verbs).

Pause, resume and limits are stored in the database: they hold for every node sharing it and
survive restarts. ``--concurrency none`` and ``--rate none`` remove a limit; a limit not given
stays as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from rota.cli.errors import CliError
from rota.cli.output import Cell, print_json, relative, table
from rota.cli.session import Session
from rota.cli.usage import Group
from rota.queues import Queue
from rota.usecases.queues import UNCHANGED, Rate, Unchanged

if TYPE_CHECKING:  # click 8.4 made ParamType generic; older clicks cannot subscript it
    _Base = click.ParamType[Any]
else:
    _Base = click.ParamType


class ConcurrencyType(_Base):
    """``N`` (a whole number) or ``none``."""

    name = "N|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | Unchanged) or value is None:
            return value
        text = str(value).strip()
        if text.lower() == "none":
            return None
        try:
            return int(text)
        except ValueError:
            self.fail(f"expected a whole number or 'none', got {text!r}", param, ctx)


class RateType(_Base):
    """``N/SECONDS`` (at most N starts per that many seconds) or ``none``."""

    name = "N/SECONDS|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple | Unchanged) or value is None:
            return value
        text = str(value).strip()
        if text.lower() == "none":
            return None
        count, slash, seconds = text.partition("/")
        try:
            if not slash:
                raise ValueError
            return int(count), float(seconds)
        except ValueError:
            self.fail(
                f"expected N/SECONDS (at most N starts per that many seconds, e.g. 10/60) "
                f"or 'none', got {text!r}",
                param,
                ctx,
            )


@click.group(cls=Group)
def queues() -> None:
    """Queues: list, pause, resume, set limits."""


def _state(q: Queue) -> Cell:
    return ("paused", "yellow") if q.paused else ("active", "green")


def _count(n: int, q: Queue) -> str:
    return f"{n}+" if n >= q.count_cap else str(n)


def _rate(q: Queue) -> str:
    rate = q.rate
    return "-" if rate is None else f"{rate[0]}/{rate[1]:g}s"


def _row(q: Queue, now: datetime) -> list[Cell]:
    return [
        q.name,
        _state(q),
        "-" if q.concurrency is None else str(q.concurrency),
        _rate(q),
        _count(q.queued, q),
        _count(q.running, q),
        "-" if q.oldest_due is None else relative(q.oldest_due, now),
    ]


def _limits(q: Queue) -> str:
    concurrency = (
        "no concurrency limit" if q.concurrency is None else f"concurrency {q.concurrency}"
    )
    rate = "no rate limit" if q.rate is None else f"rate {_rate(q)}"
    return f"{concurrency}, {rate}"


@queues.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_obj
def list_(session: Session, as_json: bool) -> None:
    """Queues with runs or settings: state, limits, queued and running runs, oldest waiting."""
    app = session.app()
    found = app.queues.list()
    if as_json:
        print_json([q.to_json() for q in found])
        return
    now = app.clock.now()
    headers = ["NAME", "STATE", "CONCURRENCY", "RATE", "QUEUED", "RUNNING", "OLDEST QUEUED"]
    table(headers, [_row(q, now) for q in found], empty="no queues")


def _pause_or_resume(session: Session, queue: str, as_json: bool, pause: bool) -> None:
    app = session.app()
    was = app.queues.get(queue).paused
    now = app.queues.pause(queue) if pause else app.queues.resume(queue)
    if as_json:
        print_json(now.to_json())
    elif pause:
        click.echo(f"queue {queue} {'was already paused' if was else 'paused'}")
    else:
        click.echo(f"queue {queue} {'resumed' if was else 'was not paused'}")


@queues.command()
@click.argument("queue")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
def pause(session: Session, queue: str, as_json: bool) -> None:
    """Pause a queue: no node starts a new run from it; running runs finish."""
    _pause_or_resume(session, queue, as_json, pause=True)


@queues.command()
@click.argument("queue")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
def resume(session: Session, queue: str, as_json: bool) -> None:
    """Resume a paused queue: its runs start again."""
    _pause_or_resume(session, queue, as_json, pause=False)


@queues.command("set")
@click.argument("queue")
@click.option(
    "--concurrency",
    type=ConcurrencyType(),
    default=UNCHANGED,
    help="At most N of its runs running at once, cluster-wide ('none': no limit).",
)
@click.option(
    "--rate",
    type=RateType(),
    default=UNCHANGED,
    help="At most N starts per SECONDS, cluster-wide, e.g. 10/60 ('none': no limit).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
@click.pass_obj
def set_(
    session: Session,
    queue: str,
    concurrency: int | Unchanged | None,
    rate: Rate | Unchanged | None,
    as_json: bool,
) -> None:
    """Set a queue's limits; a limit not given stays as it is."""
    if concurrency is UNCHANGED and rate is UNCHANGED:
        raise CliError("nothing to set: give --concurrency N|none and/or --rate N/SECONDS|none")
    app = session.app()
    changed = app.queues.set(queue, concurrency=concurrency, rate_limit=rate)
    if as_json:
        print_json(changed.to_json())
    else:
        click.echo(f"queue {queue}: {_limits(changed)}")
