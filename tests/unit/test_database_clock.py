"""DatabaseClock: this machine's clock corrected by its measured offset to the database's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rota.clock import DatabaseClock


def test_a_node_five_seconds_behind_reads_the_database_time() -> None:
    clock = DatabaseClock(lambda: datetime.now(UTC) + timedelta(seconds=5))
    assert clock.offset == 0.0
    assert abs(clock.sync() - 5.0) < 0.05
    assert abs((clock.now() - datetime.now(UTC)).total_seconds() - 5.0) < 0.05


def test_the_sample_with_the_shortest_round_trip_wins() -> None:
    delays = iter([0.0, 0.3])

    def read() -> datetime:  # the reply of the slow round trip is read late: 0.3 s off
        delay = next(delays)
        time.sleep(delay)
        return datetime.now(UTC) - timedelta(seconds=2)

    clock = DatabaseClock(read)
    clock.sync()
    assert abs(clock.sync() - -2.0) < 0.05  # the fast sample is kept
