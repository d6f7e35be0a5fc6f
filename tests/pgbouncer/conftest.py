"""The tests under tests/pgbouncer/ run against PostgreSQL through a real PgBouncer in
transaction pooling mode (tests/pgbouncer/bouncer.py), with rota told so in its URL
(``?rota_pooler=transaction``). Several modules here take scenario tests of tests/integration
as they are and run them through the pooler: ``database_url`` is the pooler's URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_postgres, reset_postgres
from tests.integration.conftest import app, marks, procs
from tests.pgbouncer.bouncer import PgBouncer, start_pgbouncer

__all__ = ["app", "marks", "procs"]


@pytest.fixture
def backend() -> str:
    require_postgres()
    return "postgres"


@pytest.fixture
def bouncer(backend: str) -> Iterator[PgBouncer]:
    """A fresh PgBouncer in front of an empty test database (no rota schema)."""
    reset_postgres()
    b = start_pgbouncer()
    try:
        yield b
    finally:
        b.stop()
        print(b.log()[-4000:])  # shown by pytest when the test failed


@pytest.fixture
def database_url(bouncer: PgBouncer) -> str:
    """rota's URL through the pooler; workers find new runs by their poll."""
    return bouncer.url
