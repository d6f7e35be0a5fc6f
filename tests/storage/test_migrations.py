"""Conformance: creating and upgrading the schema, also when several nodes start at once."""

from __future__ import annotations

import multiprocessing
import traceback
from importlib import resources
from typing import Any

from rota.runs import RunState
from rota.storage import open_store
from rota.storage.base import InsertParams, Store

from .support import T0, get, new_run

STARTERS = 4


def migration_files(backend: str) -> list[str]:
    folder = resources.files(f"rota.storage.{backend}").joinpath("migrations")
    return sorted(e.name for e in folder.iterdir() if e.name.endswith(".sql"))


def test_schema_version_counts_the_migration_files(store: Store) -> None:
    files = migration_files(store.backend)
    assert files, "a backend without migrations"
    assert files[0].startswith("0001_")
    assert store.schema_version() == len(files)


def test_fresh_database_has_no_schema(database_url: str) -> None:
    fresh = open_store(database_url)
    try:
        assert fresh.schema_version() == 0
        assert fresh.migrate() == len(migration_files(fresh.backend))
        assert fresh.schema_version() == len(migration_files(fresh.backend))
    finally:
        fresh.close()


def test_migrate_again_changes_nothing(store: Store) -> None:
    [inserted] = store.runs_insert_many(InsertParams([new_run(args={"keep": 1})], T0))
    version = store.schema_version()

    assert store.migrate() == version
    assert store.migrate() == version
    assert store.schema_version() == version
    assert get(store, inserted.id).args == {"keep": 1}


def _migrate_in_child(url: str, start: Any, results: Any) -> None:
    try:
        s = open_store(url)
        try:
            start.wait(timeout=60)
            results.put(("ok", s.migrate()))
        finally:
            s.close()
    except BaseException:
        results.put(("error", traceback.format_exc()))


def test_concurrent_migrate_from_many_processes(database_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(STARTERS)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_migrate_in_child, args=(database_url, start, results))
        for _ in range(STARTERS)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    results.close()
    results.join_thread()

    errors = [detail for status, detail in got if status != "ok"]
    assert errors == []
    assert all(p.exitcode == 0 for p in procs)

    check = open_store(database_url)
    try:
        expected = len(migration_files(check.backend))
        assert [version for _, version in got] == [expected] * STARTERS
        assert check.schema_version() == expected
        [inserted] = check.runs_insert_many(InsertParams([new_run()], T0))
        assert get(check, inserted.id).state is RunState.QUEUED
    finally:
        check.close()
