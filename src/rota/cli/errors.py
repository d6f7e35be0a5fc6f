"""Exit codes, and the translation of exceptions into one clear line for the user."""

from __future__ import annotations

import sqlite3
import sys

from rota.errors import (
    ConfigError,
    ExecutionNotFound,
    InvalidInput,
    LaunchError,
    RunFailed,
    RunNotFound,
    ScheduleNotFound,
    StorageUnavailable,
    UnknownJob,
    WorkflowNotFound,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A user-facing failure: printed as ``rota: error: <message>``, exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def one_line(text: str) -> str:
    """Driver messages often span lines (hints, details): one line for the terminal."""
    return " ".join(str(text).split())


def summary(exc: BaseException) -> str:
    """``Type: message``, the one-line summary of an exception."""
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_driver_error(exc: BaseException) -> bool:
    """A database driver's error meaning the database cannot be used (not a rota bug)."""
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        return True
    psycopg = sys.modules.get("psycopg")  # never imported here: only if a store loaded it
    return psycopg is not None and isinstance(exc, psycopg.OperationalError)


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and message for a known failure, or None for an unexpected one."""
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(
        exc, UnknownJob | RunNotFound | ScheduleNotFound | ExecutionNotFound | WorkflowNotFound
    ):
        return EXIT_NOT_FOUND, one_line(str(exc))
    if isinstance(exc, StorageUnavailable):
        return EXIT_USAGE, f"database unavailable: {one_line(str(exc))}"
    if isinstance(exc, LaunchError | ConfigError | InvalidInput):
        return EXIT_USAGE, one_line(str(exc))
    if isinstance(exc, RunFailed):
        return EXIT_FAILED, one_line(str(exc))
    if _is_driver_error(exc):
        return EXIT_USAGE, f"database unavailable: {one_line(str(exc))}"
    return None
