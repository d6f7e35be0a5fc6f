"""Fixtures of the integration tests: the test's own app, its marks dir, and worker processes.

``database_url`` (tests/conftest.py) parametrizes every test over SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import rota
from tests.integration.jobapp import build_app
from tests.integration.procs import Marks, Procs


@pytest.fixture
def marks(tmp_path: Path) -> Marks:
    path = tmp_path / "marks"
    path.mkdir()
    return Marks(path)


@pytest.fixture
def app(database_url: str, marks: Marks) -> Iterator[rota.App]:
    """The test process's app: launches, reads and cancels runs; never runs a worker."""
    a = build_app(database_url, marks.path)
    a.store  # noqa: B018 - create the schema before any worker starts
    yield a
    a.close()


@pytest.fixture
def procs(tmp_path: Path, database_url: str, marks: Marks, app: rota.App) -> Iterator[Procs]:
    """Worker processes; every one still alive is killed at teardown, its log printed."""
    p = Procs(tmp_path, database_url, marks.path)
    try:
        yield p
    finally:
        p.cleanup()
        print(p.logs())  # shown by pytest when the test failed
