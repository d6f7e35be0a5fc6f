"""Workflows, written once for both backends: the insert of a workflow and its steps in one
transaction (the caller's, with ``connection=``), and the reads of workflows and upstreams.

How a step's end moves the steps after it is on each backend's hot path (``settle`` in its
``workflows.py``), beside the finish it shares a transaction with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from rota.runs import RunState
from rota.storage.base import InsertParams
from rota.storage.dialect import Row, SqlBackend, Tx
from rota.storage.workflow_store import WorkflowInsert, WorkflowInserted
from rota.workflows import WorkflowRecord, WorkflowStep

JSON = Any


class PortableWorkflows(SqlBackend):
    """``WorkflowStore`` over the backend's ``workflows.sql``."""

    def workflow_insert(self, params: WorkflowInsert) -> WorkflowInserted:
        d = self.dialect
        q = d.queries("workflows.sql")
        opened: AbstractContextManager[Tx] = (
            self.transaction() if params.connection is None else self.joined(params.connection)
        )
        with opened as tx:
            parent = {"parent_run_id": params.parent_run_id}
            row = tx.one(
                q["workflow_insert"], {"name": params.name, "now": d.time(params.now), **parent}
            )
            if row is None:  # this parent run enqueued it already (an earlier attempt)
                found = tx.one(q["workflow_by_parent"], parent)
                assert found is not None
                return WorkflowInserted(int(found["id"]), False, [])
            workflow_id = int(row["id"])
            runs = [dataclasses.replace(r, workflow_id=workflow_id) for r in params.runs]
            ids = [i.id for i in self.insert_in(tx, InsertParams(runs, params.now))]
            if params.edges:
                tx.count(
                    q["workflow_edges_insert"],
                    {
                        "ups": d.array([ids[u] for u, _ in params.edges]),
                        "downs": d.array([ids[w] for _, w in params.edges]),
                    },
                )
            return WorkflowInserted(workflow_id, True, ids)

    def workflows_get(self, ids: Sequence[int]) -> list[WorkflowRecord]:
        if not ids:
            return []
        q = self.dialect.queries("workflows.sql")
        rows = self.fetch(q["workflow_rows"], {"ids": self.dialect.array(list(ids))})
        return self._workflow_records(sorted(rows, key=lambda r: int(r["id"])), results=True)

    def workflows_list(self, limit: int, before_id: int | None = None) -> list[WorkflowRecord]:
        q = self.dialect.queries("workflows.sql")
        rows = self.fetch(q["workflows_page"], {"limit": limit, "before_id": before_id})
        return self._workflow_records(rows, results=False)

    def workflow_upstream(self, run_id: int) -> dict[str, JSON]:
        q = self.dialect.queries("workflows.sql")
        rows = self.fetch(q["workflow_upstream"], {"id": run_id})
        read = self.dialect.read_json
        return {r["step"]: None if r["result"] is None else read(r["result"]) for r in rows}

    def _workflow_records(self, rows: list[Row], results: bool) -> list[WorkflowRecord]:
        if not rows:
            return []
        d = self.dialect
        ids = [int(r["id"]) for r in rows]
        steps: dict[int, list[WorkflowStep]] = {i: [] for i in ids}
        for s in self.fetch(
            d.queries("workflows.sql")["workflow_steps"],
            {"ids": d.array(ids), "results": d.flag(results)},
        ):
            after = s["after"]
            steps[int(s["workflow_id"])].append(
                WorkflowStep(
                    name=s["step"],
                    job=s["job"],
                    run_id=int(s["id"]),
                    state=RunState(s["state"]),
                    after=tuple(d.read_json(after) if isinstance(after, str) else after or ()),
                    result=None if s["result"] is None else d.read_json(s["result"]),
                    finished_at=d.read_time(s["finished_at"]),
                )
            )
        return [
            WorkflowRecord(
                id=int(r["id"]),
                name=r["name"],
                created_at=d.read_time_not_null(r["created_at"]),
                steps=tuple(steps[int(r["id"])]),
                parent_run_id=None if r["parent_run_id"] is None else int(r["parent_run_id"]),
            )
            for r in rows
        ]
