"""The verbs written once (rota.storage.portable) find the same named queries in each backend."""

from __future__ import annotations

import pytest

from rota.storage.portable.batch import ROW_LOCKS
from rota.storage.postgres.dialect import POSTGRES
from rota.storage.sqlite.dialect import SQLITE

PORTABLE_FILES = [
    "schedules.sql",
    "batch.sql",
    "idempotency.sql",
    "stats.sql",
    "nodes.sql",
    "queues.sql",
]


@pytest.mark.parametrize("filename", PORTABLE_FILES)
def test_both_backends_name_the_same_queries(filename: str) -> None:
    sqlite = set(SQLITE.queries(filename))
    postgres = set(POSTGRES.queries(filename))
    assert sqlite, f"no queries in sqlite/{filename}"
    assert sqlite == postgres - ROW_LOCKS


def test_only_the_dialect_that_locks_rows_has_row_lock_queries() -> None:
    assert POSTGRES.row_locks and set(POSTGRES.queries("batch.sql")) >= ROW_LOCKS
    assert not SQLITE.row_locks and not ROW_LOCKS & set(SQLITE.queries("batch.sql"))
