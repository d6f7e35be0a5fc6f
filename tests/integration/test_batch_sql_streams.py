"""SqlReader and SqlWriter against a real SQLite file and a real PostgreSQL, with restarts."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rota.batch.context import StepContext
from rota.batch.readers import SqlReader, sql_identifier
from rota.batch.writers import SqlWriter
from tests.conftest import PG_URL, require_postgres
from tests.support import context, read_all, take

# beside the test database, named after it: sessions and xdist workers each have their own
_SERVER, _, _TEST_DB = PG_URL.partition("?")[0].rpartition("/")
STREAMS_DB = f"{_TEST_DB}_streams"
STREAMS_URL = f"{_SERVER}/{STREAMS_DB}"


class Db:
    """One test database: ``connect`` opens a new connection, ``mark`` is its placeholder."""

    def __init__(self, connect: Callable[[], Any], mark: str) -> None:
        self.connect = connect
        self.mark = mark

    def run(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
            cur.close()
            conn.commit()
            return rows
        finally:
            conn.close()


def _postgres() -> Db:
    import psycopg

    require_postgres()
    try:
        with psycopg.connect(STREAMS_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        with (
            psycopg.connect(PG_URL, autocommit=True) as conn,
            contextlib.suppress(psycopg.errors.DuplicateDatabase),
        ):
            conn.execute(f'CREATE DATABASE "{STREAMS_DB}"')
    return Db(lambda: psycopg.connect(STREAMS_URL), "%s")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        path = tmp_path / "streams.db"
        d = Db(lambda: sqlite3.connect(path), "?")
    else:
        d = _postgres()
    for table in ("stream_src", "stream_dst"):
        d.run(f"DROP TABLE IF EXISTS {table}")
    d.run("CREATE TABLE stream_src (id INTEGER PRIMARY KEY, name TEXT NOT NULL, grp INTEGER)")
    d.run("CREATE TABLE stream_dst (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    values = ", ".join(f"({n}, 'name {n}', {n % 3})" for n in range(1, 26))
    d.run(f"INSERT INTO stream_src (id, name, grp) VALUES {values}")
    yield d


def expected(ids: range) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"name {n}", "grp": n % 3} for n in ids]


@pytest.mark.parametrize("commit", [0, 6, 7, 10, 25])
def test_sql_reader_resumes_after_the_last_committed_key(db: Db, commit: int) -> None:
    ctx = context()
    first = take(SqlReader(db.connect, table="stream_src", page_size=7), ctx, commit, lost=3)
    assert ctx.state == ({"reader": {"last": commit}} if commit else {"reader": {}})
    rest = read_all(SqlReader(db.connect, table="stream_src", page_size=7), context(ctx.state))
    assert first + rest == expected(range(1, 26))


def test_sql_reader_filters_selects_columns_and_keys_on_text(db: Db) -> None:
    def reader() -> SqlReader:
        return SqlReader(
            db.connect,
            table="stream_src",
            key_column="name",
            columns=["grp"],
            where=f"grp = {db.mark}",
            params=[1],
            page_size=2,
            key="source",
        )

    names = sorted(f"name {n}" for n in range(1, 26) if n % 3 == 1)
    ctx = context()
    first = take(reader(), ctx, 3)
    assert ctx.state == {"source": {"last": names[2]}}
    rest = read_all(reader(), context(ctx.state))
    assert first + rest == [{"grp": 1, "name": name} for name in names]


def test_sql_reader_yields_dicts_whatever_the_row_factory(db: Db) -> None:
    def connect() -> Any:
        conn = db.connect()
        if isinstance(conn, sqlite3.Connection):
            conn.row_factory = sqlite3.Row
        else:
            from psycopg.rows import dict_row

            conn.row_factory = dict_row
        return conn

    rows = read_all(
        SqlReader(connect, table="stream_src", columns="id, name", page_size=10), context()
    )
    assert rows == [{"id": n, "name": f"name {n}"} for n in range(1, 26)]


def test_sql_reader_holds_no_transaction_open_between_pages() -> None:
    db = _postgres()
    db.run("DROP TABLE IF EXISTS stream_src")
    db.run("CREATE TABLE stream_src (id INTEGER PRIMARY KEY)")
    db.run("INSERT INTO stream_src SELECT generate_series(1, 10)")
    reader = SqlReader(db.connect, table="stream_src", page_size=4)
    reader.open(context())
    items = reader(context())
    assert next(items) == {"id": 1}
    idle = db.run(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state LIKE 'idle in%%'",
        [STREAMS_DB],
    )
    reader.close()
    assert idle == [(0,)]


def never_connect() -> Any:
    raise AssertionError("names are checked before any connection")


def test_sql_names_are_validated_and_quoted() -> None:
    assert sql_identifier("public.stream_src", qualified=True) == '"public"."stream_src"'
    for bad in ["stream_src; DROP TABLE x", "a.b.c", "", "1abc", 'a"b', "a b"]:
        with pytest.raises(ValueError, match="not a plain SQL name"):
            SqlReader(never_connect, table=bad)
    with pytest.raises(ValueError, match="not a plain SQL name"):
        SqlReader(never_connect, table="t", key_column="x.y")
    with pytest.raises(ValueError, match="not a plain SQL name"):
        SqlReader(never_connect, table="t", columns=["ok", "id) FROM t --"])
    with pytest.raises(ValueError, match="not a plain SQL name"):
        SqlWriter("t", columns=["a", "b;"])


def dst(db: Db) -> list[tuple[Any, ...]]:
    return db.run("SELECT id, name FROM stream_dst ORDER BY id")


def test_sql_writer_with_connect_commits_each_chunk_itself(db: Db) -> None:
    writer = SqlWriter("stream_dst", connect=db.connect)
    assert not hasattr(writer, "write_in")  # the runner must not route it into rota's database
    writer.open(context())
    writer([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    assert dst(db) == [(1, "a"), (2, "b")]
    with pytest.raises(Exception, match=r"(?i)unique"):
        writer([{"id": 3, "name": "c"}, {"id": 1, "name": "again"}])
    assert dst(db) == [(1, "a"), (2, "b")]  # the failed chunk rolled back as a whole
    writer([{"id": 3, "name": "c"}])
    writer.update(context())
    writer.close()
    assert dst(db) == [(1, "a"), (2, "b"), (3, "c")]


def test_sql_writer_without_connect_writes_only_in_the_callers_transaction(db: Db) -> None:
    writer = SqlWriter("stream_dst", columns=["name", "id"])
    with pytest.raises(TypeError, match="connect="):
        writer([("a", 1)])
    conn = db.connect()
    try:
        if isinstance(conn, sqlite3.Connection):
            conn.isolation_level = None
            conn.execute("BEGIN IMMEDIATE")
        else:
            from psycopg.rows import dict_row

            conn.row_factory = dict_row
        writer.write_in(conn, [("a", 1), ["b", 2]])
        conn.rollback()  # the chunk's transaction failed: nothing of it may remain
        assert dst(db) == []
        if isinstance(conn, sqlite3.Connection):
            conn.execute("BEGIN IMMEDIATE")
        writer.write_in(conn, [("a", 1), {"id": 2, "name": "b"}])
        writer.write_in(conn, [])
        conn.commit()
    finally:
        conn.close()
    assert dst(db) == [(1, "a"), (2, "b")]


def test_sql_writer_rejects_items_that_do_not_fit(db: Db) -> None:
    conn = db.connect()
    try:
        with pytest.raises(TypeError, match="needs columns="):
            SqlWriter("stream_dst").write_in(conn, [(1, "a")])
        with pytest.raises(ValueError, match="do not match the columns"):
            SqlWriter("stream_dst").write_in(conn, [{"id": 1, "name": "a"}, {"id": 2}])
        with pytest.raises(ValueError, match="3 values"):
            SqlWriter("stream_dst", columns=["id", "name"]).write_in(conn, [(1, "a", "x")])
        conn.rollback()
    finally:
        conn.close()


def test_sql_copy_step_restarts_exactly_once(db: Db) -> None:
    """Reader and in-transaction writer as a chunk step: a crash loses only uncommitted work."""

    def run(ctx: StepContext, chunks: int | None) -> None:
        reader = SqlReader(db.connect, table="stream_src", columns=["id", "name"], page_size=4)
        writer = SqlWriter("stream_dst")
        reader.open(ctx)
        items = reader(ctx)
        conn = db.connect()
        try:
            for _ in itertools.count() if chunks is None else range(chunks):
                chunk = list(itertools.islice(items, 5))
                if not chunk:
                    break
                writer.write_in(conn, chunk)
                reader.update(ctx)
                conn.commit()  # rota commits the items with the checkpoint
            writer.write_in(conn, list(itertools.islice(items, 3)))  # then the process dies
        finally:
            conn.close()
            reader.close()

    ctx = context()
    run(ctx, 3)
    assert [r[0] for r in dst(db)] == list(range(1, 16))
    run(context(ctx.state), None)
    assert dst(db) == [(n, f"name {n}") for n in range(1, 26)]
