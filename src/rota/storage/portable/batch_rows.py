"""Batch rows in and out: the parameters of step and chunk writes, and rows turned into the
batch model, through a backend's dialect."""

from __future__ import annotations

from typing import Any

from rota.batch.model import BatchExecution, StepExecution
from rota.storage.batch_store import ChunkCommit, StepStart
from rota.storage.dialect import Dialect, Row
from rota.storage.rows import dumps, execution_from_row, step_from_row


def step(row: Row, d: Dialect) -> StepExecution:
    return step_from_row(row, d.read_time, d.read_json)


def execution(row: Row, d: Dialect, steps: list[StepExecution]) -> BatchExecution:
    return execution_from_row(row, d.read_time, d.read_json, steps)


def step_values(p: StepStart, run_id: int | None, d: Dialect) -> dict[str, Any]:
    read, written, skipped, filtered, commits = p.counts
    return {
        "execution_id": p.execution_id,
        "name": p.name,
        "partition": p.partition,
        "partition_args": None if p.partition_args is None else dumps(p.partition_args),
        "run_id": run_id,
        "state": p.state.value,
        "read": read,
        "written": written,
        "skipped": skipped,
        "filtered": filtered,
        "commits": commits,
        "position": p.position,
        "context": dumps(p.context),
        "now": d.time(p.now),
    }


def chunk_values(params: ChunkCommit) -> dict[str, Any]:
    return {
        "step_id": params.step_id,
        "run_id": params.run_id,
        "attempt": params.attempt,
        "read": params.read,
        "written": params.written,
        "skipped": params.skipped,
        "filtered": params.filtered,
        "position": params.position,
        "context": dumps(params.context),
        "node_id": params.node_id,
        "expected_commits": params.expected_commits,
    }
