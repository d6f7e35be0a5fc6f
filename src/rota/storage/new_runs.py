"""What a launch writes: a new run and, for a batch job's run, the instance it executes.

A module of its own because both halves of the storage seam take it: ``base`` (inserting
runs) and ``batch_store`` (partitions are runs too, a retried batch run relaunches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rota.runs import RunState

JSON = Any


@dataclass(frozen=True, slots=True)
class NewRun:
    job: str
    args: dict[str, JSON]
    queue: str
    priority: int
    max_attempts: int
    run_at: datetime
    state: RunState  # queued or scheduled; waiting for a workflow step after others
    unique_key: str | None = None
    schedule: str | None = None
    timeout: float | None = None
    kind: str = "function"
    batch: BatchLaunch | None = None
    """For a batch job's run: create its execution in the same transaction, or refuse."""
    concurrency_group: str | None = None
    """For a job with a concurrency limit: the group the run counts in (rota.admission)."""
    rate_group: str | None = None
    """For a job with a rate limit: the group whose starts it counts in."""
    workflow_id: int | None = None
    """For a workflow step: its workflow (created in the same transaction first)."""
    step: str | None = None
    """For a workflow step: its name in the workflow."""


@dataclass(frozen=True, slots=True)
class BatchLaunch:
    """The instance a batch run executes: the launch creates an execution of it, atomically
    checking the launch rules (``rota.batch.model.check_launch``)."""

    identity: str
    instance_args: dict[str, JSON]
    restart_limit: int | None = None
