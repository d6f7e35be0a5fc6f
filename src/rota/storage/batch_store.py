"""The batch part of the storage seam: executions, step executions and their checkpoints.

Frozen params and the ``BatchStore`` protocol; ``rota.storage.base.Store`` includes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rota.batch.model import BatchExecution, BatchState, StepExecution
from rota.storage.new_runs import BatchLaunch, NewRun

JSON = Any


@dataclass(frozen=True, slots=True)
class BatchListParams:
    job: str | None = None
    states: Sequence[BatchState] = ()
    limit: int = 50
    before_id: int | None = None


@dataclass(frozen=True, slots=True)
class Holder:
    """The attempt a batch write must still hold its run for (fencing): a worker whose run was
    rescued, or handed back at shutdown and claimed by another node, writes nothing more."""

    run_id: int
    attempt: int
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchTransition:
    """Compare-and-set an execution's state."""

    execution_id: int
    from_states: Sequence[BatchState]
    to: BatchState
    now: datetime
    started: bool = False  # set started_at (if not set yet)
    finished: bool = False  # set finished_at
    exit_status: str | None = None
    error: str | None = None
    holder: Holder | None = None
    """Only while this attempt holds the run (the runner's own writes)."""


@dataclass(frozen=True, slots=True)
class StepStart:
    """Start (or resume, after a lost node) one step execution, or one partition of one."""

    execution_id: int
    name: str
    now: datetime
    partition: int = -1
    position: int = 0
    context: dict[str, JSON] = field(default_factory=dict)
    state: BatchState = BatchState.STARTED
    partition_args: dict[str, JSON] | None = None
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    """read, written, skipped, filtered, commits (a completed partition copied forward)."""


@dataclass(frozen=True, slots=True)
class ChunkCommit:
    """One chunk's progress and checkpoint, committed together while the run is still held."""

    step_id: int
    run_id: int
    attempt: int
    now: datetime
    read: int
    written: int
    skipped: int
    filtered: int
    position: int
    context: dict[str, JSON]
    progress: dict[str, JSON] | None = None
    """The run's progress, recorded in the same transaction."""
    node_id: str | None = None
    """The node holding the run (fencing, with run_id and attempt)."""
    expected_commits: int | None = None
    """The step's commit count before this chunk: a retried commit whose first try did
    commit (the connection died during COMMIT) is recognised, and not applied twice."""


@dataclass(frozen=True, slots=True)
class StepFinish:
    step_id: int
    state: BatchState
    now: datetime
    exit_status: str | None = None
    error: str | None = None
    rollbacks: int = 0
    holder: Holder | None = None


@dataclass(frozen=True, slots=True)
class NewPartition:
    index: int
    args: dict[str, JSON]
    run: NewRun | None
    """None for a partition already completed by an earlier execution (copied forward)."""
    position: int = 0
    context: dict[str, JSON] = field(default_factory=dict)
    state: BatchState = BatchState.STARTING
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class PartitionsParams:
    execution_id: int
    name: str
    now: datetime
    partitions: Sequence[NewPartition]


class BatchStore(Protocol):
    """Batch instances, executions and step executions (checkpoints)."""

    def batch_get(self, execution_id: int) -> BatchExecution | None: ...
    def batch_for_run(self, run_id: int) -> BatchExecution | None:
        """The latest execution carried by this run."""
        ...

    def batch_list(self, params: BatchListParams) -> list[BatchExecution]: ...
    def batch_history(self, instance_id: int) -> list[BatchExecution]:
        """Every execution of the instance, oldest first, with their steps."""
        ...

    def batch_relaunch(self, run_id: int, launch: BatchLaunch, now: datetime) -> int:
        """A new execution of the run's instance carried by the same (retried) run."""
        ...

    def batch_transition(self, params: BatchTransition) -> bool: ...
    def batch_step_start(self, params: StepStart) -> StepExecution: ...
    def batch_chunk_commit(
        self, params: ChunkCommit, write: Callable[[Any], None] | None = None
    ) -> BatchState | None:
        """Commit the chunk; returns the execution's state, or None (the run is no longer
        held by this attempt, or the execution ended: nothing was written).
        ``write(connection)`` runs inside the same transaction first (a transactional writer)."""
        ...

    def batch_step_finish(self, params: StepFinish) -> bool:
        """False when the holder no longer holds the run (nothing written)."""
        ...

    def batch_partitions_create(self, params: PartitionsParams) -> list[StepExecution]:
        """The partition rows and their child runs in one transaction; when the partitions
        exist already (a resumed manager) they are returned unchanged."""
        ...

    def batch_partitions(self, execution_id: int, name: str) -> list[StepExecution]:
        """The partitions of one step of an execution, with their child runs' states."""
        ...

    def batch_reconcile(self, now: datetime) -> int:
        """End active executions whose run ended or vanished (stopped if it was cancelled)."""
        ...


def holder_params(holder: Holder | None) -> dict[str, Any]:
    """The fence's query parameters (all None: no fence)."""
    if holder is None:
        return {"run_id": None, "attempt": None, "node_id": None}
    return {"run_id": holder.run_id, "attempt": holder.attempt, "node_id": holder.node_id}


def applied_params(params: ChunkCommit) -> dict[str, Any]:
    """The parameters of ``batch_commit_applied``: was this very commit applied already?"""
    return {
        "step_id": params.step_id,
        "position": params.position,
        "run_id": params.run_id,
        "attempt": params.attempt,
        "node_id": params.node_id,
    }
