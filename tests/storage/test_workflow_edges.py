"""Conformance: a workflow's edges are stored as given, however many, and on SQLite their
insert pairs the two id arrays through an index instead of a nested loop over both."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from rota.runs import RunState
from rota.storage import open_store
from rota.storage.base import Store
from rota.storage.workflow_store import WorkflowInsert

from .support import T0, new_run

STEPS = 300


def test_a_fan_out_and_in_keeps_every_edge_in_place(store: Store) -> None:
    """1 root -> STEPS-2 in parallel -> 1 join, and a chain beside them: each step's
    ``after`` is exactly its upstreams, in the order they were inserted."""
    runs = [
        dataclasses.replace(
            new_run(args={"i": i}, state=RunState.QUEUED if i == 0 else RunState.WAITING),
            step=f"s{i}",
        )
        for i in range(STEPS)
    ]
    edges = [(0, i) for i in range(1, STEPS - 1)] + [(i, STEPS - 1) for i in range(1, STEPS - 1)]
    done = store.workflow_insert(WorkflowInsert("fan", runs, edges, T0))
    [record] = store.workflows_get([done.id])
    after = {s.name: s.after for s in record.steps}
    assert after["s0"] == ()
    assert {after[f"s{i}"] for i in range(1, STEPS - 1)} == {("s0",)}
    assert after[f"s{STEPS - 1}"] == tuple(f"s{i}" for i in range(1, STEPS - 1))


def test_sqlite_pairs_the_edge_arrays_through_an_index(tmp_path: Path) -> None:
    """Joined as two json_each tables the pairing was a nested loop over both arrays: 0.3 s
    for the 1,996 edges of a 1,000-step fan-out, 50 s for 20,000."""
    path = tmp_path / "plan.db"
    store = open_store(f"sqlite:///{path}")
    store.migrate()
    query = store.dialect.queries("workflows.sql")["workflow_edges_insert"]  # type: ignore[attr-defined]
    store.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + query, {"ups": "[1, 1]", "downs": "[2, 3]"}
        ).fetchall()
    details = " / ".join(row[3] for row in plan)
    assert "USING AUTOMATIC COVERING INDEX" in details, details
