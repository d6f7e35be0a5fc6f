"""The one way to ride out a database outage: retries with backoff, one line when it begins
and one when it ends, bugs raised at once, a deadline that gives up."""

from __future__ import annotations

import logging
import sqlite3
import time

import pytest

from rota.errors import StorageUnavailable
from rota.outage import Outage, is_outage, ride_out, unavailable

log = logging.getLogger("rota.test-outage")


class Flaky:
    """Fails ``failures`` times with ``error``, then returns how many calls it took."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.calls


def test_an_outage_is_ridden_out_with_one_line_at_its_start_and_one_at_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pauses: list[float] = []
    call = Flaky(4, StorageUnavailable("connection refused"))

    assert ride_out(call, Outage("worker", log), pause=pauses.append) == 5

    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "worker: database unavailable, retrying with backoff: connection refused",
        lines[1],
    ]
    assert lines[1].startswith("worker: database is back after ")
    assert pauses == sorted(pauses) and pauses[0] < pauses[-1] <= 5.0, "a backoff"


def test_a_bug_is_raised_at_once_not_retried() -> None:
    call = Flaky(1, KeyError("bug"))
    with pytest.raises(KeyError):
        ride_out(call, Outage("worker", log), pause=lambda _s: None)
    assert call.calls == 1


def test_the_deadline_gives_up_with_the_last_error() -> None:
    call = Flaky(1000, StorageUnavailable("still down"))
    with pytest.raises(StorageUnavailable, match="still down"):
        ride_out(call, Outage("batch", log), until=time.monotonic() + 0.2)
    assert 1 < call.calls < 1000


def test_what_counts_as_an_outage() -> None:
    assert is_outage(StorageUnavailable("x"))
    assert is_outage(sqlite3.OperationalError("database is locked"))
    assert not is_outage(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not is_outage(ValueError("a bug"))
    assert unavailable(StorageUnavailable("x"))
    assert not unavailable(sqlite3.OperationalError("unable to open database file"))
