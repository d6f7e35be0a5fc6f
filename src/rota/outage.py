"""One log line per database outage, and the pace of retries while it lasts."""

from __future__ import annotations

import logging
import time


class Outage:
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
        return float(min(5.0, 0.05 * 2 ** min(self.failures, 10)))

    def ok(self) -> None:
        if self.since is not None:
            elapsed = time.monotonic() - self.since
            self.log.warning("%s: database is back after %.1fs", self.what, elapsed)
        self.since, self.failures = None, 0
