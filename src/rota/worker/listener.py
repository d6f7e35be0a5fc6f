"""The worker's notifier: a service of its own that wakes the worker as soon as new runs may
be due (PostgreSQL LISTEN, SQLite's data version), so the worker need not poll fast."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rota.service import Loop
from rota.storage.base import Notifier

log = logging.getLogger("rota.worker")
WAIT = 0.5
"""Seconds one pass waits for a notification (and so at most for a stop)."""


class Listener:
    """Calls ``wake`` on each notification; reopens the notifier after a failure."""

    def __init__(self, open_notifier: Callable[[], Notifier], wake: Callable[[], None]) -> None:
        self._open, self._wake = open_notifier, wake
        self._notifier: Notifier | None = None
        self._loop = Loop("notifier", self._step, log, on_exit=self._close)

    def start(self) -> None:
        self._loop.start()

    def request_stop(self) -> None:
        self._loop.request_stop()

    def stop(self) -> None:
        self._loop.stop()

    def run_once(self) -> bool:
        """Wait a moment for a notification; True (and the worker woken) if one came."""
        if self._notifier is None:
            self._notifier = self._open()
        if self._notifier.wait(WAIT):
            self._wake()
            return True
        return False

    def _step(self) -> float:
        try:
            self.run_once()
        except Exception:
            self._close()
            raise
        return 0.0

    def _close(self) -> None:
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            notifier.close()
