"""Turning stored rows into the frozen dataclasses, shared by both backends."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rota.batch.model import BatchExecution, BatchState, StepExecution
from rota.runs import Run, RunState


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decoded(value: Any) -> Any:
    """JSON the driver already decoded (psycopg's jsonb): taken as it is."""
    return value


def from_text(value: Any) -> Any:
    """JSON stored as text (SQLite). Never guessed from the type: a decoded JSON string is a str."""
    return None if value is None else json.loads(value)


def run_from_row(
    row: Any, ts: Callable[[Any], datetime | None], js: Callable[[Any], Any] = decoded
) -> Run:
    """``ts`` turns the backend's stored time into an aware datetime; ``js`` its JSON."""
    run_at = ts(row["run_at"])
    created_at = ts(row["created_at"])
    assert run_at is not None and created_at is not None
    result = row["result"]
    progress = row["progress"]
    return Run(
        id=int(row["id"]),
        job=row["job"],
        queue=row["queue"],
        state=RunState(row["state"]),
        args=js(row["args"]),
        priority=int(row["priority"]),
        attempt=int(row["attempt"]),
        max_attempts=int(row["max_attempts"]),
        schedule=row["schedule"],
        unique_key=row["unique_key"],
        run_at=run_at,
        created_at=created_at,
        started_at=ts(row["started_at"]),
        finished_at=ts(row["finished_at"]),
        result=None if result is None else js(result),
        errors=js(row["errors"]) or [],
        progress=None if progress is None else js(progress),
        cancel_requested=bool(row["cancel_requested"]),
        timeout=row["timeout"],
        node_id=row["node_id"],
        lease_expires_at=ts(row["lease_expires_at"]),
        kind=row["kind"],
        workflow=None if row["workflow_id"] is None else int(row["workflow_id"]),
        step=row["step"],
    )


def step_from_row(
    row: Any, ts: Callable[[Any], datetime | None], js: Callable[[Any], Any] = decoded
) -> StepExecution:
    args = row["partition_args"]
    return StepExecution(
        id=int(row["id"]),
        execution_id=int(row["execution_id"]),
        name=row["name"],
        partition=int(row["partition"]),
        state=BatchState(row["state"]),
        read=int(row["read_count"]),
        written=int(row["write_count"]),
        skipped=int(row["skip_count"]),
        filtered=int(row["filter_count"]),
        commits=int(row["commit_count"]),
        rollbacks=int(row["rollback_count"]),
        position=int(row["position"]),
        context=js(row["context"]) or {},
        exit_status=row["exit_status"],
        error=row["error"],
        started_at=ts(row["started_at"]),
        finished_at=ts(row["finished_at"]),
        partition_args=None if args is None else js(args),
        run_id=None if row["run_id"] is None else int(row["run_id"]),
        run_state=row["run_state"],
    )


def execution_from_row(
    row: Any,
    ts: Callable[[Any], datetime | None],
    js: Callable[[Any], Any] = decoded,
    steps: list[StepExecution] | None = None,
) -> BatchExecution:
    created_at = ts(row["created_at"])
    assert created_at is not None
    return BatchExecution(
        id=int(row["id"]),
        instance_id=int(row["instance_id"]),
        job=row["job"],
        args=js(row["args"]),
        state=BatchState(row["state"]),
        run_id=None if row["run_id"] is None else int(row["run_id"]),
        created_at=created_at,
        started_at=ts(row["started_at"]),
        finished_at=ts(row["finished_at"]),
        restart_of=None if row["restart_of"] is None else int(row["restart_of"]),
        exit_status=row["exit_status"],
        error=row["error"],
        run_state=row["run_state"],
        steps=steps or [],
        ended_attempt=None if row["ended_attempt"] is None else int(row["ended_attempt"]),
    )
