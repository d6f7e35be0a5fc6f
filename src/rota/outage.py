"""Riding out a database outage: the one way every part of rota waits for its database.

An outage gets one log line when it begins and one when it ends, never a line per retry, and
the retries back off (up to 5 s apart). ``Outage`` keeps that account for a loop that retries
on its own beat (a service's loop); ``ride_out`` retries one call through it (a start waiting
for its database, a stopping worker's last writes, a batch step's commit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from rota.errors import StorageUnavailable

T = TypeVar("T")
MAX_PAUSE = 5.0

_NOT_OUTAGES = frozenset({"DataError", "IntegrityError", "ProgrammingError", "NotSupportedError"})


class Outage:
    """The account of one outage: when it began and how many tries failed since."""

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self.what, self.log = what, logger
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """Note a failure; returns how long to wait before the next try (capped at 5 s)."""
        if self.since is None:
            self.since = time.monotonic()
            self.log.warning("%s: database unavailable, retrying with backoff: %s", self.what, exc)
        self.failures += 1
        return float(min(MAX_PAUSE, 0.05 * 2 ** min(self.failures, 10)))

    def ok(self) -> None:
        if self.since is not None:
            elapsed = time.monotonic() - self.since
            self.log.warning("%s: database is back after %.1fs", self.what, elapsed)
        self.since, self.failures = None, 0


def is_outage(exc: BaseException) -> bool:
    """Whether a failure is the database's doing (retried quietly) rather than a bug.

    The stores raise ``StorageUnavailable`` for what they recognise; a driver's own error that
    slips through counts too, unless it is about the statement or its data.
    """
    if isinstance(exc, StorageUnavailable):
        return True
    if type(exc).__module__.partition(".")[0] not in ("sqlite3", "psycopg", "psycopg_pool"):
        return False
    return not any(c.__name__ in _NOT_OUTAGES for c in type(exc).__mro__)


def unavailable(exc: BaseException) -> bool:
    """Only what the store reports as unavailable (a start must not hang on a bad URL)."""
    return isinstance(exc, StorageUnavailable)


def ride_out(
    call: Callable[[], T],
    outage: Outage,
    *,
    until: float | None = None,
    retry: Callable[[BaseException], bool] = is_outage,
    pause: Callable[[float], object] = time.sleep,
) -> T:
    """``call()``, tried again with backoff while it fails with an error ``retry`` accepts.

    Any other error is raised at once; so is the last one when the next try would come after
    ``until`` (a ``time.monotonic()`` deadline). ``pause`` waits between tries: a stop
    event's ``wait`` lets a stop cut the wait short (the next ``call`` then sees the stop).
    """
    while True:
        try:
            value = call()
        except Exception as exc:
            if not retry(exc):
                raise
            delay = outage.failed(exc)
            if until is not None and time.monotonic() + delay > until:
                raise
            pause(delay)
            continue
        outage.ok()
        return value
