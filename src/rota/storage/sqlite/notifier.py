"""Cross-process wake-ups for SQLite: polling ``PRAGMA data_version``.

It changes when another connection commits and costs no disk I/O.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time

from rota.storage.sqlite.connection import SQLiteBase


class DataVersionNotifier:
    """Reports a commit by any other connection to the file, by polling ``data_version``."""

    POLL_SECONDS = 0.005

    def __init__(self, store: SQLiteBase) -> None:
        self._conn = store.connect()
        self._version = self._read()

    def _read(self) -> int:
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return -1

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.POLL_SECONDS, left))

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
