"""``rota scheduler`` and ``rota run``: nodes in the foreground until SIGTERM or SIGINT.

Every node command stops gracefully on the first SIGTERM or SIGINT, whatever it is doing (also
while it waits for its database at start), and then exits 0; a second signal stops it at once
(runs still running are left to be rescued) and it exits 130, as any interrupted command.

Which services each node command runs (every node also heartbeats, so ``rota nodes`` sees it):

- ``rota worker`` (worker.py): worker and maintenance;
- ``rota scheduler``: the scheduler only;
- ``rota run``: worker, scheduler and maintenance, plus the REST API and dashboard;
- ``rota serve``: the REST API and dashboard only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from rota.app import App
from rota.cli.errors import CliError
from rota.cli.node_options import (
    CONCURRENCY_OPTION,
    QUEUES_OPTION,
    SHUTDOWN_TIMEOUT_OPTION,
    split_names,
)
from rota.cli.output import note
from rota.cli.session import Session

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class Listen:
    """Where a node's REST API and dashboard listen, and the tokens they ask for."""

    host: str
    port: int
    token: str | None = None
    read_token: str | None = None


def serve_node(
    app: App,
    *,
    worker: bool,
    scheduler: bool,
    maintenance: bool,
    queues: Sequence[str] | None = None,
    concurrency: int | None = None,
    api: Listen | None = None,
) -> None:
    """Run the chosen services until SIGTERM or SIGINT, then stop gracefully (exit 0).

    The node logs one INFO line when it has started (with its id, roles and database) and one
    when it has stopped; a node with the API also prints where it serves, once it listens.
    """
    roles = tuple(
        r
        for r, on in (("worker", worker), ("scheduler", scheduler), ("maintenance", maintenance))
        if on
    ) + (("api",) if api is not None else ())
    details = app.worker_details(queues, concurrency) if worker else ()

    def start() -> None:
        app.start(
            worker=worker,
            scheduler=scheduler,
            maintenance=maintenance,
            queues=queues,
            concurrency=concurrency,
            roles=roles,
        )

    if api is None:
        app.serve_forever(start, details=details)
        return
    try:
        from rota.web.server import serve
    except ImportError as exc:
        raise CliError(
            f"the REST API needs the web extra ({exc.name} is missing): pip install 'rota[web]'"
        ) from None
    serve(
        app,
        api.host,
        api.port,
        api.token,
        read_token=api.read_token,
        before=start,
        after=app.stop,
        details=details,
        on_listening=lambda url: note(f"rota: serving the REST API and dashboard on {url}"),
    )


def api_options(command: F) -> F:
    """--host, --port, --token and --read-token of the nodes that serve the REST API."""
    for option in reversed(
        (
            click.option("--host", default=DEFAULT_HOST, show_default=True, help="API address."),
            click.option(
                "--port",
                type=click.IntRange(1, 65535),
                default=DEFAULT_PORT,
                show_default=True,
                help="API port.",
            ),
            click.option(
                "--token",
                envvar="ROTA_API_TOKEN",
                help="Bearer token the API requires (env ROTA_API_TOKEN); needed off loopback.",
            ),
            click.option(
                "--read-token",
                envvar="ROTA_API_READ_TOKEN",
                help="A token that may read everything and act on nothing, in the API and the "
                "dashboard (env ROTA_API_READ_TOKEN).",
            ),
        )
    ):
        command = option(command)
    return command


@click.command("scheduler")
@click.pass_obj
def scheduler(session: Session) -> None:
    """Run the scheduler only until SIGTERM or SIGINT (safe on any number of nodes)."""
    session.configure_logging(default="INFO")
    app = session.app(jobs=True)
    serve_node(app, worker=False, scheduler=True, maintenance=False)


@click.command("run")
@api_options
@QUEUES_OPTION
@CONCURRENCY_OPTION
@SHUTDOWN_TIMEOUT_OPTION
@click.pass_obj
def run_(
    session: Session,
    host: str,
    port: int,
    token: str | None,
    read_token: str | None,
    queues: str | None,
    concurrency: int | None,
    shutdown_timeout: float | None,
) -> None:
    """Run one node: worker, scheduler, maintenance, REST API and dashboard.

    Until SIGTERM or SIGINT, then stops gracefully (running runs get --shutdown-timeout).
    """
    session.configure_logging(default="INFO")
    app = session.app(jobs=True)
    if shutdown_timeout is not None:
        app.shutdown_timeout = shutdown_timeout
    serve_node(
        app,
        worker=True,
        scheduler=True,
        maintenance=True,
        queues=split_names(queues),
        concurrency=concurrency,
        api=Listen(host, port, token, read_token),
    )


@click.command("serve")
@api_options
@click.pass_obj
def serve_(
    session: Session, host: str, port: int, token: str | None, read_token: str | None
) -> None:
    """Serve the REST API and dashboard only, until SIGTERM or SIGINT."""
    session.configure_logging(default="INFO")
    app = session.app()
    api = Listen(host, port, token, read_token)
    serve_node(app, worker=False, scheduler=False, maintenance=False, api=api)
