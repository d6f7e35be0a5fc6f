"""Time, injectable: services take a clock so tests never wait for real time."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """This machine's clock corrected by its offset to the database's: the clock of a node.

    Every time a node writes for others to compare (leases, heartbeats, the leader lease,
    fire times) follows the database's clock, so a node whose own clock is off by seconds
    neither fires a schedule twice nor has its runs rescued early. ``sync`` measures the
    offset as NTP does: the database's time minus the midpoint of the round trip, keeping
    the sample with the shortest round trip among the last few (a slow round trip, a pool
    wait, bounds the error by half of it). The heartbeat syncs on every beat.
    """

    SAMPLES = 8

    def __init__(self, read: Callable[[], datetime]) -> None:
        self._read = read
        self._samples: deque[tuple[float, float]] = deque(maxlen=self.SAMPLES)
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds to add to this machine's clock to read the database's."""
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def sync(self) -> float:
        """Measure the offset once more; returns the offset now used."""
        before = time.time()
        db = self._read().timestamp()
        after = time.time()
        with self._lock:
            self._samples.append((after - before, db - (before + after) / 2))
            self._offset = min(self._samples)[1]
            return self._offset


def utcnow() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


def to_epoch(dt: datetime) -> float:
    return dt.timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
