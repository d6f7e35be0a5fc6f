"""The one shape of rota's long-running parts, and the loop that runs each on its own thread.

A service (worker, scheduler, heartbeat, maintenance, the worker's notifier) has a frozen
config, ``start()``/``stop()`` (idempotent, graceful) and ``run_once()``, which tests call
directly. ``Loop`` owns what they would otherwise each write again: the thread, the stop
event, the wait between passes that a wake-up cuts short, and riding out database outages
(one line per outage, backoff, carry on); a bug is logged with its traceback and retried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from rota.outage import Outage, is_outage

BUG_PAUSE = 5.0
"""Seconds a loop waits after a pass failed for a bug (not an outage) before the next one."""


class Service(Protocol):
    def start(self) -> None:
        """Run in the background; a second call does nothing."""

    def stop(self) -> None:
        """Stop gracefully and wait for it; a second call does nothing."""

    def run_once(self) -> object:
        """One pass, in the caller's thread."""


class Loop:
    """A service's thread: calls ``step`` until stopped, then ``on_exit``.

    ``step`` returns how many seconds to wait before the next pass (0: go on at once); a
    ``wake()`` ends the wait early, a stop ends it at once.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], float],
        log: logging.Logger,
        *,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self.name, self._step, self.log, self._on_exit = name, step, log, on_exit
        self.outage = Outage(name, log)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=f"rota-{self.name}", daemon=True)
            self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end after its current pass, without waiting for it."""
        self._stopping.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to end and wait up to ``timeout`` seconds for its thread."""
        self.request_stop()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    pause = self._step()
                    self.outage.ok()
                except Exception as exc:
                    pause = self._failed(exc)
                if pause > 0 and not self._stopping.is_set():
                    self._wake.wait(pause)
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _failed(self, exc: Exception) -> float:
        """How long to wait after a failed pass; only the database's failures are outages."""
        if is_outage(exc):
            return self.outage.failed(exc)
        self.log.exception(
            "%s pass failed (a bug, not a database outage); trying again in %gs",
            self.name,
            BUG_PAUSE,
        )
        return BUG_PAUSE


def every(seconds: float, run_once: Callable[[], object]) -> Callable[[], float]:
    """A loop step for a service that runs ``run_once`` on a steady beat."""

    def step() -> float:
        run_once()
        return seconds

    return step
