"""The ``rota`` console script: global options, the command groups, and exit codes.

Exit codes: 0 ok; 1 the job or operation failed; 2 usage or validation error; 3 not found.
Every user error ends as one line on stderr (``rota: error: ...``), never a traceback.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Sequence

import click

from rota.cli.batch import batch
from rota.cli.bench import bench
from rota.cli.completion import completion
from rota.cli.db import db
from rota.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, classify, one_line
from rota.cli.info import jobs, nodes
from rota.cli.launching import exec_, launch
from rota.cli.node import run_, scheduler, serve_
from rota.cli.queues import queues
from rota.cli.runs import runs
from rota.cli.schedules import schedules
from rota.cli.session import Session
from rota.cli.usage import CONTEXT_SETTINGS, Group
from rota.cli.worker import worker
from rota.cli.workflows import workflows
from rota.limits import MAX_ECHO
from rota.version import __version__

LOG_LEVELS = click.Choice(["debug", "info", "warning", "error"], case_sensitive=False)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--app",
    "app_ref",
    envvar="ROTA_APP",
    metavar="MODULE[:ATTR] | FILE.py[:ATTR]",
    help="Where your rota.App is (env ROTA_APP; the attribute defaults to 'app').",
)
@click.option(
    "--database",
    metavar="URL",
    help="Database URL, unless the App sets one (else env ROTA_DATABASE_URL, else "
    "sqlite:///rota.db).",
)
@click.option(
    "--log-level",
    type=LOG_LEVELS,
    help="Log level (worker, scheduler, run: info; others: warning).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    envvar="ROTA_LOG_FORMAT",
    show_default=True,
    help="Log lines as text, or one JSON object per line (env ROTA_LOG_FORMAT).",
)
@click.version_option(
    __version__, "-V", "--version", prog_name="rota", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(
    ctx: click.Context,
    app_ref: str | None,
    database: str | None,
    log_level: str | None,
    log_format: str,
) -> None:
    """rota: background jobs on SQLite or PostgreSQL."""
    session = Session(
        app_ref=app_ref or None,
        database=database or None,
        log_level=log_level,
        log_format=log_format.lower(),
    )
    session.configure_logging()
    ctx.obj = session
    ctx.call_on_close(session.close)


for command in (
    run_,
    worker,
    scheduler,
    serve_,
    completion,
    launch,
    exec_,
    jobs,
    runs,
    schedules,
    batch,
    nodes,
    queues,
    workflows,
    db,
    bench,
):
    cli.add_command(command)


def _usage_line(exc: click.ClickException) -> str:
    message = one_line(exc.format_message()).rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


_LONG_WORD = re.compile(r"\S{" + str(MAX_ECHO + 1) + ",}")


def _shorten(message: str) -> str:
    """Cut every over-long word (a pasted value echoed back by click) to MAX_ECHO characters."""
    return _LONG_WORD.sub(
        lambda m: f"{m.group()[:MAX_ECHO]}... ({len(m.group())} characters)", message
    )


def _fail(code: int, message: str) -> int:
    click.echo(f"rota: error: {_shorten(message)}", err=True)
    return code


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of exiting (for tests and embedding)."""
    try:
        rv = cli.main(
            args=list(argv) if argv is not None else None, prog_name="rota", standalone_mode=False
        )
        return rv if isinstance(rv, int) else 0
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        return _fail(exc.exit_code, _usage_line(exc))
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("rota: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`rota runs list | head`): quiet, and no error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:
        known = classify(exc)
        if known is not None:
            return _fail(*known)
        click.echo("rota: internal error (please report it):", err=True)
        traceback.print_exc()
        return EXIT_FAILED


def _stray_threads() -> bool:
    first = threading.main_thread()
    return any(t.is_alive() and not t.daemon and t is not first for t in threading.enumerate())


def main(argv: Sequence[str] | None = None) -> None:
    code = run(argv)
    if _stray_threads():
        # A job thread outlived the worker's shutdown_timeout; its run was handed back to the
        # queue, so the process must not wait for it (the interpreter would join it at exit).
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
