"""A job taking datetime, date, UUID, Decimal and an Enum gets those objects from every launcher.

Before, the CLI and REST stored any string for such a parameter and the job got the string,
while Python refused the object itself. The job here returns the type and repr of what it got,
and a real worker process runs it, on both backends.
"""

from __future__ import annotations

import importlib.util
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rota
from tests.support import wait_until
from tests.web.conftest import Server, error_of, start_server

from .conftest import Cli, Worker, assert_user_error

SOURCE = """
import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

import rota

app = rota.App(poll_interval=0.05, lease_seconds=5)


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@app.job
def typed(when: datetime, day: date, key: uuid.UUID, amount: Decimal, color: Color) -> dict:
    got = {"when": when, "day": day, "key": key, "amount": amount, "color": color}
    return {name: [type(value).__name__, repr(value)] for name, value in got.items()}
"""

KEY = "12345678-1234-5678-1234-567812345678"
TEXT_ARGS = {
    "when": "2027-01-01T10:00:00+00:00",
    "day": "2027-01-02",
    "key": KEY,
    "amount": "12.50",
    "color": "green",
}
EXPECTED = {
    "when": ["datetime", repr(datetime(2027, 1, 1, 10, 0, tzinfo=UTC))],
    "day": ["date", repr(date(2027, 1, 2))],
    "key": ["UUID", repr(uuid.UUID(KEY))],
    "amount": ["Decimal", repr(Decimal("12.50"))],
    "color": ["Color", "<Color.GREEN: 'green'>"],
}


@pytest.fixture
def app_file(tmp_path: Path) -> Path:
    """The acceptance ``cli`` and the API server both load this app (as tasks.py)."""
    path = tmp_path / "tasks.py"
    path.write_text(textwrap.dedent(SOURCE))
    (tmp_path / "webtest_app.py").write_text(textwrap.dedent(SOURCE))
    return path


@pytest.fixture
def local_app(app_file: Path, database_url: str) -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location(f"typed_{uuid.uuid4().hex[:8]}", app_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.app.use_database(database_url)
    yield module
    module.app.close()


@pytest.fixture
def server(tmp_path: Path, database_url: str, app_file: Path) -> Iterator[Server]:
    srv = start_server(tmp_path, database_url)
    yield srv
    srv.stop()


def test_from_python_the_objects_themselves(local_app: Any) -> None:
    app: rota.App = local_app.app
    handle = app.get_job("typed").enqueue(
        when=datetime(2027, 1, 1, 10, 0, tzinfo=UTC),
        day=date(2027, 1, 2),
        key=uuid.UUID(KEY),
        amount=Decimal("12.50"),
        color=local_app.Color.GREEN,
    )
    assert app.runs.get(handle.id).args == TEXT_ARGS  # stored as JSON
    app.drain()
    assert handle.result(timeout=10) == EXPECTED


def test_from_the_cli_the_iso_strings(cli: Cli, worker: Worker) -> None:
    worker.start()
    pairs = [x for name, value in TEXT_ARGS.items() for x in ("--arg", f"{name}={value}")]
    run = cli.ok("launch", "typed", *pairs, "--wait", "--json").json()
    assert run["state"] == "succeeded", run
    assert run["result"] == EXPECTED
    bad = [*pairs, "--arg", "day=2027-02-30"]
    assert_user_error(cli("launch", "typed", *bad), 2, "argument 'day'", "date (ISO 8601)")


def test_from_rest_the_iso_strings(server: Server, cli: Cli, worker: Worker) -> None:
    api = server.client
    jobs = {j["name"]: j for j in api.get("/api/jobs").json()["items"]}
    types = {p["name"]: p["type"] for p in jobs["typed"]["params"]}
    assert types == {
        "when": "datetime (ISO 8601)",
        "day": "date (ISO 8601)",
        "key": "UUID",
        "amount": "Decimal (string)",
        "color": "Color (one of 'red', 'green')",
    }
    bad = api.post("/api/jobs/typed/runs", json={"args": TEXT_ARGS | {"when": "soon"}})
    assert "argument 'when'" in error_of(bad, 422)["message"]
    created = api.post("/api/jobs/typed/runs", json={"args": TEXT_ARGS})
    assert created.status_code == 201, created.text
    worker.start()

    def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = api.get(f"/api/runs/{created.json()['id']}").json()
        return run if run["state"] in ("succeeded", "failed") else None

    run = wait_until(finished, 30, "the run to finish")
    assert run["state"] == "succeeded", run
    assert run["result"] == EXPECTED
