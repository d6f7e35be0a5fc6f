"""Opening a store from a database URL; drivers are imported only for their backend."""

from __future__ import annotations

from rota.errors import ConfigError
from rota.storage.base import Store
from rota.storage.bench import BenchStore
from rota.storage.urls import DEFAULT_URL, backend_of, redact

__all__ = ["DEFAULT_URL", "backend_of", "open_bench_store", "open_store", "redact"]


def open_store(url: str) -> Store:
    """A store for ``url`` (schema not yet checked: call ``migrate()``)."""
    if backend_of(url) == "sqlite":
        from rota.storage.sqlite.store import SQLiteStore

        return SQLiteStore(url)
    try:
        from rota.storage.postgres.store import PostgresStore
    except ImportError as exc:
        raise ConfigError(
            f"PostgreSQL support is not installed ({exc.name} is missing): "
            "pip install 'rota[postgres]'"
        ) from exc
    return PostgresStore(url)


def open_bench_store(url: str) -> BenchStore:
    """What ``rota bench`` runs beside the store: the bare loop and its own cleanup."""
    if backend_of(url) == "sqlite":
        from rota.storage.sqlite.bench import SQLiteBench

        return SQLiteBench(url)
    from rota.storage.postgres.bench import PostgresBench

    return PostgresBench(url)
