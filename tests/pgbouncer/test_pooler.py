"""rota through a real PgBouncer in transaction pooling mode, driven as a user drives it.

The schema is created through the pooler on an empty database; runs launched through it are
drained by a real ``rota worker`` process; a worker with ``rota_listen`` wakes on a launch at
once, one without finds new runs by its poll.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import rota
from rota.storage import open_store
from rota.storage.sql import load_migrations
from tests.acceptance.conftest import APP_SOURCE, Cli
from tests.conftest import PG_URL
from tests.pgbouncer.bouncer import PgBouncer
from tests.support import kill_piped, wait_until

RUNS = 300


def latest_migration() -> int:
    return max(number for number, _, _ in load_migrations("rota.storage.postgres"))


def make_cli(tmp_path: Path, url: str, source: str = APP_SOURCE) -> Cli:
    app_file = tmp_path / "tasks.py"
    app_file.write_text(textwrap.dedent(source))
    return Cli(tmp_path, app_file, url)


def test_the_schema_is_created_through_the_pooler_by_concurrent_first_starts(
    bouncer: PgBouncer,
) -> None:
    stores = [open_store(bouncer.url) for _ in range(4)]
    versions: list[int] = []
    threads = [threading.Thread(target=lambda s=s: versions.append(s.migrate())) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert versions == [latest_migration()] * 4
    assert all(s.schema_version() == latest_migration() for s in stores)
    for s in stores:
        s.close()


def test_a_worker_process_drains_runs_launched_through_the_pooler(
    bouncer: PgBouncer, tmp_path: Path
) -> None:
    cli = make_cli(tmp_path, bouncer.url)
    cli.ok("db", "upgrade")
    app = rota.App(database=bouncer.url)

    @app.job
    def add(a: int, b: int = 0) -> int: ...

    # many identical statements: psycopg would prepare them after 5 runs (the pooler breaks that)
    ids = [app.enqueue("add", {"a": i, "b": 1}).id for i in range(RUNS)]
    result = cli("worker", "--burst", "--concurrency", "8", timeout=120)
    assert result.code == 0, str(result)
    runs = {r.id: r for r in app.runs.list(limit=1000)}
    assert sorted(runs) == sorted(ids)
    assert all(r.state == "succeeded" for r in runs.values()), {r.state for r in runs.values()}
    assert sorted(r.result for r in runs.values()) == [i + 1 for i in range(RUNS)]
    app.close()


def worker_picks_up_within(
    cli: Cli, app: rota.App, runs: int, check: Callable[[], bool]
) -> list[float]:
    """Seconds from each launch to the run's start, by a `rota worker` process; ``check``
    holds while it runs."""
    proc = cli.start("worker", "--concurrency", "2")
    try:
        first = app.enqueue("add", {"a": 0})
        wait_until(lambda: app.runs.get(first.id).state == "succeeded", 60, "a first run")
        assert check()
        waits = []
        for i in range(runs):
            time.sleep(0.3)  # the worker is idle and waiting again
            launched = time.time()
            handle = app.enqueue("add", {"a": i})
            run = wait_until(
                lambda h=handle: (r := app.runs.get(h.id)).state == "succeeded" and r, 40, "run"
            )
            assert run.started_at is not None
            waits.append(run.started_at.timestamp() - launched)
        return waits
    finally:
        kill_piped(proc)


def listeners() -> int:
    """Server sessions whose last statement was rota's LISTEN (the direct LISTEN connection)."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN rota_runs'"
            " AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.parametrize(
    ("listen", "poll", "within"), [(True, 30, 2.0), (False, 1, 3.0)], ids=["rota_listen", "poll"]
)
def test_a_worker_listens_on_the_direct_url_else_polls(
    bouncer: PgBouncer, tmp_path: Path, listen: bool, poll: int, within: float
) -> None:
    """With ``rota_listen`` a worker polling every 30 s starts a launched run at once (the
    NOTIFY goes through the pooler, the LISTEN is direct); without it nothing LISTENs and the
    1 s poll finds new runs."""
    url = bouncer.listen_url if listen else bouncer.url
    cli = make_cli(tmp_path, url, APP_SOURCE.replace("poll_interval=0.1", f"poll_interval={poll}"))
    cli.ok("db", "upgrade")
    app = rota.App(database=bouncer.url)

    @app.job
    def add(a: int, b: int = 0) -> int: ...

    waits = worker_picks_up_within(cli, app, 3, lambda: listeners() == (1 if listen else 0))
    assert max(waits) < within, waits
    app.close()


def test_rota_options_are_not_given_to_libpq(bouncer: PgBouncer) -> None:
    """The bare URL with rota's options would be refused by libpq: rota takes them out."""
    import psycopg

    with pytest.raises(psycopg.ProgrammingError):
        psycopg.connect(bouncer.listen_url).close()
    store = open_store(bouncer.listen_url)
    store.migrate()
    assert store.schema_version() == latest_migration()
    store.close()


def test_without_rota_pooler_the_error_says_what_to_add(bouncer: PgBouncer) -> None:
    """Concurrent launches through the pooler, rota not told: psycopg's prepared statements
    meet other server connections, and the error names the option to add."""
    app = rota.App(database=bouncer.plain_url)

    @app.job
    def add(a: int, b: int = 0) -> int: ...

    app.enqueue("add", {"a": 0})
    errors: list[Exception] = []

    def launch() -> None:
        try:
            for i in range(50):
                app.enqueue("add", {"a": i})
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=launch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    app.close()
    assert errors
    assert all(isinstance(e, rota.ConfigError) for e in errors), errors
    assert all("add ?rota_pooler=transaction" in str(e) for e in errors), errors
