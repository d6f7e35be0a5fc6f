"""The shape every background service shares: start()/stop()/run_once() on a steady beat."""

from __future__ import annotations

import logging
import threading

from rota.outage import Outage


class PeriodicService:
    """Calls ``run_once`` every ``interval`` seconds on its own thread, riding out outages."""

    name = "service"
    interval = 1.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.log = logging.getLogger(f"rota.{self.name}")
        self._outage = Outage(self.name, self.log)

    def run_once(self) -> object:
        raise NotImplementedError

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=f"rota-{self.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(10)
        self.on_stop()

    def on_stop(self) -> None:
        """Hook for a last write when the service stops."""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self._outage.ok()
                wait = self.interval
            except Exception as exc:
                if type(exc).__name__ != "StorageUnavailable":
                    self.log.exception("%s failed", self.name)
                wait = self._outage.failed(exc)
            self._stop.wait(wait)
