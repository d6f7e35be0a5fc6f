"""The database an app uses: its URL as configured, and its store, opened on first use."""

from __future__ import annotations

import os
import threading

from rota.errors import ConfigError
from rota.storage import open_store
from rota.storage.base import Store
from rota.storage.urls import DEFAULT_URL


class LazyStore:
    """A store opened (and its schema created or upgraded) the first time it is asked for.

    The URL: the one given here (``App(database=)``) wins over a fallback (the CLI's
    ``--database``), which wins over ``ROTA_DATABASE_URL``, else ``sqlite:///rota.db``.
    """

    def __init__(self, url: str | None) -> None:
        self._url = url
        self._fallback: str | None = None
        self._store: Store | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url or self._fallback or os.environ.get("ROTA_DATABASE_URL") or DEFAULT_URL

    def use_fallback(self, url: str) -> None:
        if self._store is not None and url != self.url and not self._url:
            raise ConfigError("the database cannot change once the app has opened it")
        self._fallback = url

    def get(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    store = open_store(self.url)
                    store.migrate()
                    self._store = store
        return self._store

    def close(self) -> None:
        """Close the store if it is open. Not under the opening lock: a node stopping while
        its database is silent must not wait for the connection attempt in flight."""
        store, self._store = self._store, None
        if store is not None:
            store.close()
