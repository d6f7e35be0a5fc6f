"""LISTEN/NOTIFY wake-ups for workers on PostgreSQL (none behind a transaction pooler)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence

import psycopg

from rota.errors import StorageUnavailable
from rota.storage.postgres.connection import CHANNEL


class ListenNotifier:
    """A dedicated connection that LISTENs; wakes on a launch into one of our queues."""

    def __init__(self, conninfo_: str, queues: Sequence[str] | None) -> None:
        try:
            self._conn = psycopg.connect(conninfo_, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL LISTEN: {str(exc).strip()}") from exc
        self._queues = set(queues) if queues is not None else None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                for note in self._conn.notifies(timeout=left, stop_after=1):
                    if self._queues is None or note.payload in self._queues:
                        return True
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"PostgreSQL LISTEN: {str(exc).strip()}") from exc

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()


class PollNotifier:
    """No wake-ups: behind a transaction pooler without a LISTEN URL, a notification would reach
    whichever client holds the server connection at the time. The worker polls instead."""

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def close(self) -> None:
        pass
