"""``rota worker``: a worker node in the foreground, or ``--burst`` to drain and exit."""

from __future__ import annotations

import inspect

import click

from rota.app import App
from rota.cli.session import Session


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


@click.command()
@QUEUES_OPTION
@CONCURRENCY_OPTION
@click.option("--burst", is_flag=True, help="Run every due run, then exit.")
@SHUTDOWN_TIMEOUT_OPTION
@click.pass_obj
def worker(
    session: Session,
    queues: str | None,
    concurrency: int | None,
    burst: bool,
    shutdown_timeout: float | None,
) -> None:
    """Run a worker until SIGTERM or SIGINT (then stop gracefully and exit 0)."""
    session.configure_logging(default="INFO")
    app = session.app(jobs=True)
    names = split_names(queues)
    if shutdown_timeout is not None:
        app.shutdown_timeout = shutdown_timeout
    if burst:
        if concurrency is not None:
            app.concurrency = concurrency
        counts = app.drain(names)
        done = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing due"
        session.note(f"burst finished: {done}")
        return
    app.run_worker(queues=names, concurrency=concurrency)
