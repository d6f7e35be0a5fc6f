"""Options shared by the node commands (``worker``, ``run``), with the defaults they show."""

from __future__ import annotations

import inspect

import click

from rota.app import App


def split_names(value: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``; None or empty means every queue."""
    if not value:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    return names or None


_APP_DEFAULTS = inspect.signature(App).parameters
QUEUES_OPTION = click.option(
    "--queues", "-q", metavar="A,B", help="Queues to serve.", show_default="all"
)
CONCURRENCY_OPTION = click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    help="Runs at once.",
    show_default=(
        f"the app's concurrency, {_APP_DEFAULTS['concurrency'].default} unless App(concurrency=N)"
    ),
)
SHUTDOWN_TIMEOUT_OPTION = click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    help="On SIGTERM/SIGINT, seconds running runs get to finish before going back to queued.",
    show_default=(
        f"the app's shutdown_timeout, {_APP_DEFAULTS['shutdown_timeout'].default:g}s unless "
        "App(shutdown_timeout=S)"
    ),
)
