"""Shared fixtures: a real database of each backend for every storage-facing test.

PostgreSQL tests use ``ROTA_TEST_POSTGRES_URL`` (default: postgresql://postgres@127.0.0.1:5432/
rota_test, created if missing). Without a server they skip with the reason, except in CI
(``CI=true``), where they fail: CI must prove both backends. Under pytest-xdist each worker has
a database of its own, the URL's name plus the worker's (``rota_test_gw0``...), created if
missing: workers run side by side and every test empties the database it uses.
"""

from __future__ import annotations

import compileall
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def worker_url(url: str, worker: str) -> str:
    """``url`` with ``_<worker>`` after its database name (its query kept); as is without one."""
    if not worker:
        return url
    head, mark, query = url.partition("?")
    return f"{head}_{worker}{mark}{query}"


PG_URL = worker_url(
    os.environ.get("ROTA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/rota_test"),
    os.environ.get("PYTEST_XDIST_WORKER", ""),
)
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgres"]
ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile rota, the tests and the examples once, before any test starts a process.

    The suite starts well over a thousand Python processes (``rota`` commands, nodes, workers,
    example apps). Where ``PYTHONDONTWRITEBYTECODE`` is set, none of them writes its bytecode and
    each compiles every module of rota again: about 0.3 s more for every process. Compiled
    here, they all read it (that variable stops writing, not reading). Under pytest-xdist the
    controller does it, before its workers start.
    """
    if hasattr(config, "workerinput"):
        return
    import rota

    for folder in (Path(rota.__file__).parent, ROOT / "tests", ROOT / "examples"):
        if folder.is_dir():
            compileall.compile_dir(folder, quiet=1)


_pg_problem: str | None = None
_pg_checked = False


def _postgres_problem() -> str | None:
    """None when the test PostgreSQL is reachable (creating its database), else why not."""
    global _pg_checked, _pg_problem
    if _pg_checked:
        return _pg_problem
    _pg_checked = True
    try:
        import psycopg
    except ImportError:
        _pg_problem = "psycopg is not installed (pip install 'rota[postgres]')"
        return _pg_problem
    base, _, dbname = PG_URL.partition("?")[0].rpartition("/")
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            _pg_problem = f"no PostgreSQL at {PG_URL}: {str(exc).strip()[:200]}"
            return _pg_problem
        try:
            with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as c:
                c.execute(f'CREATE DATABASE "{dbname}"')
        except psycopg.Error as exc2:
            _pg_problem = f"cannot create test database {dbname}: {exc2}"
    return _pg_problem


def require_postgres() -> None:
    problem = _postgres_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI: {problem}")
    pytest.skip(f"PostgreSQL tests skipped: {problem}")


def reset_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(4242)")  # tests may share the server
        try:
            conn.execute(
                "DO $$ DECLARE t text; BEGIN "
                "FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename LIKE 'rota\\_%' LOOP "
                "EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(t) || ' CASCADE'; END LOOP; END $$"
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(4242)")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of the backend under test (the schema is not created)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'rota-{uuid.uuid4().hex[:8]}.db'}"
    else:
        reset_postgres()
        yield PG_URL


@pytest.fixture
def store(database_url: str) -> Iterator[object]:
    from rota.storage import open_store

    s = open_store(database_url)
    s.migrate()
    yield s
    s.close()
