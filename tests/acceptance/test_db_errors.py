"""A PostgreSQL connection error says its cause in the one line a user sees, and at once for
what no retry can fix (the pool alone would wait 10 s and say "couldn't get a connection")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.acceptance.conftest import Cli, Result, assert_user_error
from tests.conftest import PG_URL, require_postgres
from tests.support import free_port

QUICK = 5.0  # seconds for the whole command, interpreter start included: well under the 10 s


def _server() -> str:
    """``postgresql://user@host:port`` of the test server, without its database."""
    return PG_URL.rsplit("/", 1)[0]


def _timed(cli: Cli, url: str, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = cli.raw("--app", str(cli.app_file), "--database", url, *args, timeout=60)
    return result, time.monotonic() - started


@pytest.fixture
def pg_cli(tmp_path: Path, app_file: Path) -> Cli:
    require_postgres()
    return Cli(tmp_path, app_file, PG_URL)


@pytest.mark.parametrize("command", [["runs", "list"], ["launch", "add", "--arg", "a=1"]])
def test_a_database_that_does_not_exist_is_named_at_once(pg_cli: Cli, command: list[str]) -> None:
    result, took = _timed(pg_cli, f"{_server()}/rota_no_such_db", *command)
    assert_user_error(result, 2, 'database "rota_no_such_db" does not exist')
    assert took < QUICK, f"took {took:.1f}s"


def test_a_user_that_does_not_exist_is_named_at_once(pg_cli: Cli) -> None:
    scheme, rest = PG_URL.split("://", 1)
    url = f"{scheme}://rota_no_such_user@{rest.split('@', 1)[1]}"
    result, took = _timed(pg_cli, url, "runs", "list")
    assert_user_error(result, 2, 'role "rota_no_such_user" does not exist')
    assert took < QUICK, f"took {took:.1f}s"


def test_a_closed_port_is_named_as_refused(tmp_path: Path, app_file: Path) -> None:
    port = free_port()
    cli = Cli(tmp_path, app_file, f"postgresql://postgres@127.0.0.1:{port}/rota")
    result, took = _timed(cli, cli.database_url, "runs", "list")
    assert_user_error(result, 2, "database unavailable", f"port {port} failed: Connection refused")
    assert took < QUICK, f"took {took:.1f}s"


def test_a_bad_url_is_a_usage_error(tmp_path: Path, app_file: Path) -> None:
    cli = Cli(tmp_path, app_file, "postgresql://postgres:pw@127.0.0.1:5432/x?colour=blue")
    result, _ = _timed(cli, cli.database_url, "runs", "list")
    assert_user_error(result, 2, "bad PostgreSQL URL", '"colour"')
    assert ":pw@" not in result.err


def test_a_node_on_a_database_that_does_not_exist_fails_at_once(pg_cli: Cli) -> None:
    result, took = _timed(pg_cli, f"{_server()}/rota_no_such_db", "worker")
    assert result.code == 2, str(result)
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("rota: error: cannot connect to PostgreSQL"), str(result)
    assert 'database "rota_no_such_db" does not exist' in last
    assert "Traceback" not in result.err
    assert took < QUICK, f"took {took:.1f}s"
