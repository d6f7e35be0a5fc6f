"""The workflows part of the storage seam: a workflow's steps inserted in one transaction,
read back with their states and edges, and the upstream results a step receives.

A step is a run with ``workflow_id`` and ``step`` set; edges link runs (upstream first). Every
verb that ends or reopens a step (a finish, a cancel, a rescue, a hand-back, a retry) settles
the steps after it in the same transaction: a waiting step whose upstreams all succeeded is
queued; one with a failed or cancelled upstream is cancelled (UpstreamFailed), and so is
every waiting step after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rota.storage.new_runs import NewRun
from rota.workflows import WorkflowRecord

JSON = Any


@dataclass(frozen=True, slots=True)
class WorkflowInsert:
    name: str
    runs: Sequence[NewRun]
    """The steps in an order where upstreams come first, ``step`` set, ``workflow_id`` not:
    the store creates the workflow and sets it."""
    edges: Sequence[tuple[int, int]]
    """(upstream, downstream) positions in ``runs``."""
    now: datetime
    connection: Any = None
    """An open DB-API connection of the caller: insert inside its transaction, never commit."""
    parent_run_id: int | None = None
    """The run of an ``@app.workflow`` job enqueueing it: a second insert with the same parent
    (a retried attempt) returns the first workflow and inserts nothing."""


@dataclass(frozen=True, slots=True)
class WorkflowInserted:
    id: int
    created: bool
    run_ids: list[int]
    """The steps' run ids in the order given (empty when not created)."""


class WorkflowStore(Protocol):
    def workflow_insert(self, params: WorkflowInsert) -> WorkflowInserted: ...
    def workflows_get(self, ids: Sequence[int]) -> list[WorkflowRecord]:
        """The workflows with these ids that exist, with their steps, in id order."""
        ...

    def workflows_list(self, limit: int, before_id: int | None = None) -> list[WorkflowRecord]:
        """Newest first, with their steps but not the steps' results (a page of big
        workflows stays cheap to list); ``before_id``: the next page."""
        ...

    def workflow_upstream(self, run_id: int) -> dict[str, JSON]:
        """The results of the steps the run comes after, by step name."""
        ...
