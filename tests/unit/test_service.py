"""The loop every service runs on: passes on its beat, woken early, one line per outage, a
prompt stop that runs the service's last words."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from rota.errors import StorageUnavailable
from rota.service import Loop
from tests.support import wait_until

log = logging.getLogger("rota.test-service")


class Steps:
    """A step that fails ``failures`` times for an outage, then asks for a long pause."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls, self.exited = failures, 0, threading.Event()

    def __call__(self) -> float:
        self.calls += 1
        if self.calls <= self.failures:
            raise StorageUnavailable("connection refused")
        return 3600.0


def test_a_loop_rides_out_an_outage_wakes_on_demand_and_stops_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = Steps(failures=3)
    loop = Loop("sample", steps, log, on_exit=steps.exited.set)
    loop.start()
    loop.start()  # a second start does nothing
    wait_until(lambda: steps.calls == 4, 10, "the outage to end")

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0] == "sample: database unavailable, retrying with backoff: connection refused"
    assert lines[1].startswith("sample: database is back after ")

    loop.wake()  # the next pass runs now, not after the hour the step asked for
    wait_until(lambda: steps.calls == 5, 10, "a pass after the wake-up")

    began = time.monotonic()
    loop.stop()
    assert time.monotonic() - began < 5
    assert steps.exited.is_set() and loop.stopping
    assert steps.calls == 5
