"""``rota worker``: a worker node in the foreground, or ``--burst`` to drain and exit."""

from __future__ import annotations

import click

from rota.cli.node import serve_node
from rota.cli.node_options import (
    CONCURRENCY_OPTION,
    QUEUES_OPTION,
    SHUTDOWN_TIMEOUT_OPTION,
    split_names,
)
from rota.cli.session import Session
from rota.cluster.lifecycle import stop_on_signals


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
        with stop_on_signals() as stop:
            counts = app.drain(names, stop=stop.event)
        done = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "nothing due"
        ended = "stopped by a signal" if stop.requested else "finished"
        session.note(f"burst {ended}: {done}")
        return
    serve_node(
        app, worker=True, scheduler=False, maintenance=True, queues=names, concurrency=concurrency
    )
