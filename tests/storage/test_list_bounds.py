"""Conformance: a list's id bounds (the cursor ``before_id``, ``min_id``), the newest id, and
that a page far back seeks its first run instead of walking every newer one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rota.limits import MAX_ID
from rota.storage import open_store
from rota.storage.base import ListParams, Store

from .support import insert, new_run


def test_newest_id_is_the_highest_id_or_none(store: Store) -> None:
    assert store.runs_newest_id() is None
    ids = insert(store, new_run(), new_run(), new_run())
    assert store.runs_newest_id() == ids[-1]


def test_min_id_bounds_a_list_from_below_with_every_filter(store: Store) -> None:
    runs = [
        new_run("a" if n % 2 else "b", args={"n": n, "tag": "needle" if n in (1, 6) else "hay"})
        for n in range(10)
    ]
    ids = insert(store, *runs)

    def listed(**kw: object) -> list[int]:
        return [r.id for r in store.runs_list(ListParams(**kw))]  # type: ignore[arg-type]

    assert listed(min_id=ids[4]) == ids[4:][::-1]
    assert listed(min_id=ids[4], before_id=ids[8]) == [ids[7], ids[6], ids[5], ids[4]]
    assert listed(min_id=ids[4], search="needle") == [ids[6]]
    assert listed(min_id=ids[0], search="NEEDLE") == [ids[6], ids[1]]
    assert listed(min_id=ids[4], job="a", limit=2) == [ids[9], ids[7]]
    assert listed(min_id=ids[9] + 1) == []
    assert listed(min_id=ids[6], before_id=ids[6]) == []


def test_cursor_bounds_at_both_ends(store: Store) -> None:
    ids = insert(store, new_run(), new_run(), new_run())

    def listed(**kw: object) -> list[int]:
        return [r.id for r in store.runs_list(ListParams(**kw))]  # type: ignore[arg-type]

    assert listed(before_id=MAX_ID) == ids[::-1]
    assert listed(before_id=ids[2]) == [ids[1], ids[0]]
    assert listed(before_id=ids[0]) == []
    assert listed(before_id=1) == []


def test_a_page_far_back_seeks_its_first_run(tmp_path: Path) -> None:
    """SQLite: the cursor and ``min_id`` bound a range of the primary key. Written as ``(x IS
    NULL OR id < x)`` they did not, and a page halfway down a million runs read half of them
    (150 ms); PostgreSQL folds either form into its index condition."""
    path = tmp_path / "plan.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    query = store.dialect.queries("queries.sql")["runs_list"]  # type: ignore[attr-defined]
    store.close()
    params = dict.fromkeys(
        ("states", "job", "queue", "created_after", "created_before", "search"), None
    )
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + query, {**params, "before_id": 500, "min_id": 10, "limit": 51}
        ).fetchall()
    details = " / ".join(row[3] for row in plan)
    assert "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in details, details
