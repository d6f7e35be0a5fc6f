"""The batch model (pure): execution and step states, their records, and the launch rules.

An *instance* is a batch job plus its identifying arguments; an *execution* is one attempt at
an instance; a *step execution* is one step (or one partition of a step) within an execution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from rota.errors import BatchConflict

JSON = Any


class BatchState(StrEnum):
    STARTING = "starting"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"
    ABANDONED = "abandoned"


ACTIVE = frozenset({BatchState.STARTING, BatchState.STARTED, BatchState.STOPPING})
"""An execution in these states may still be running (or waiting for its run to start)."""
RESTARTABLE = frozenset({BatchState.FAILED, BatchState.STOPPED})
DONE = frozenset({BatchState.COMPLETED, BatchState.ABANDONED})
"""An instance with an execution in these states is never run again."""
FINISHED = RESTARTABLE | DONE

COMPLETED = "COMPLETED"
FAILED = "FAILED"
STOPPED = "STOPPED"
"""Exit statuses a step ends with unless its tasklet returns its own (conditional flow)."""

RUN_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def identity(job: str, args: Mapping[str, JSON]) -> str:
    """A digest of the job and its identifying arguments: the instance's key."""
    text = json.dumps({"job": job, "args": args}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StepExecution:
    id: int
    execution_id: int
    name: str
    partition: int  # -1 for the step itself; 0.. for one partition of a partitioned step
    state: BatchState
    read: int = 0
    written: int = 0
    skipped: int = 0
    filtered: int = 0
    commits: int = 0
    rollbacks: int = 0
    position: int = 0
    """How many items of the reader the committed chunks consumed, over every execution."""
    context: dict[str, JSON] = field(default_factory=dict)
    exit_status: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    partition_args: dict[str, JSON] | None = None
    run_id: int | None = None
    run_state: str | None = None  # of a partition's child run

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "state": self.state.value,
            "read": self.read,
            "written": self.written,
            "skipped": self.skipped,
            "filtered": self.filtered,
            "commits": self.commits,
            "rollbacks": self.rollbacks,
            "exit_status": self.exit_status,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class BatchExecution:
    id: int
    instance_id: int
    job: str
    args: dict[str, JSON]
    state: BatchState
    run_id: int | None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    restart_of: int | None = None
    exit_status: str | None = None
    error: str | None = None
    run_state: str | None = None
    steps: list[StepExecution] = field(default_factory=list)
    ended_attempt: int | None = None
    """The attempt of its run that ended it (None: ended by an operator or maintenance)."""

    @property
    def current_state(self) -> BatchState:
        """The state as it effectively is: an active execution whose run ended is over."""
        return effective_state(PastExecution(self.id, self.state, self.run_state))

    def step_rows(self, name: str) -> list[StepExecution]:
        return [s for s in self.steps if s.name == name]

    def to_json(self) -> dict[str, JSON]:
        """The execution as the CLI's ``--json`` and the REST API show it."""
        return {
            "id": self.id,
            "job": self.job,
            "args": self.args,
            "state": self.current_state.value,
            "run_id": self.run_id,
            "instance_id": self.instance_id,
            "restart_of": self.restart_of,
            "exit_status": self.exit_status,
            "error": self.error,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "steps": [step_json(self.steps, s) for s in self.steps if s.partition < 0],
        }


def step_json(rows: Sequence[StepExecution], step: StepExecution) -> dict[str, JSON]:
    """A step as JSON; a partitioned step sums its partitions and lists them."""
    out = step.to_json()
    parts = [r for r in rows if r.name == step.name and r.partition >= 0]
    if parts:
        for k in ("read", "written", "skipped", "filtered", "commits", "rollbacks"):
            out[k] = sum(getattr(p, k) for p in parts)
        out["partitions"] = [
            {"partition": p.partition, "run_id": p.run_id, **p.to_json()} for p in parts
        ]
    return out


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


# -- launch rules ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PastExecution:
    """What the launch rules need to know of an instance's earlier execution."""

    id: int
    state: BatchState
    run_state: str | None  # None when its run is gone
    live_partitions: int = 0
    """Partition runs of it that have not ended (they may still commit chunks)."""


def effective_state(e: PastExecution) -> BatchState:
    """An active execution whose run ended (or vanished) is over, whatever its row says yet."""
    if e.state in ACTIVE and (e.run_state is None or e.run_state in RUN_TERMINAL):
        return BatchState.STOPPED if e.run_state == "cancelled" else BatchState.FAILED
    return e.state


def check_launch(
    job: str, history: Sequence[PastExecution], restart_limit: int | None
) -> int | None:
    """Whether a new execution of this instance may start; returns the one it restarts.

    Raises ``BatchConflict`` when the instance completed, was abandoned, is running, or used
    up its restarts (the Spring Batch rules).
    """
    if not history:
        return None
    for e in history:
        if e.live_partitions:
            raise BatchConflict(
                f"batch job {job!r}: {e.live_partitions} partition run(s) of execution {e.id} "
                "have not ended yet; wait for them"
            )
        state = effective_state(e)
        if state is BatchState.COMPLETED:
            raise BatchConflict(
                f"batch job {job!r}: this instance already completed (execution {e.id}); "
                "launch it with other arguments"
            )
        if state is BatchState.ABANDONED:
            raise BatchConflict(
                f"batch job {job!r}: this instance was abandoned (execution {e.id}) "
                "and is never run again"
            )
        if state in ACTIVE:
            raise BatchConflict(
                f"batch job {job!r}: execution {e.id} of this instance is {state.value}; "
                "stop it or wait for it to end"
            )
    restarts = len(history)
    if restart_limit is not None and restarts > restart_limit:
        raise BatchConflict(
            f"batch job {job!r}: the restart limit ({restart_limit}) of this instance is reached"
        )
    return max(e.id for e in history)


def admission_order(jobs_and_identities: Sequence[tuple[str, str] | None]) -> list[int]:
    """The indexes of the batch launches of one call, in the order to admit them.

    Sorted by instance, so concurrent launches lock instances in one order (no deadlock);
    one instance launched twice in one call is refused.
    """
    keyed = [(key, i) for i, key in enumerate(jobs_and_identities) if key is not None]
    keyed.sort()
    for (a, _), (b, _) in pairwise(keyed):
        if a == b:
            raise BatchConflict(f"batch job {a[0]!r}: one instance launched twice in one call")
    return [i for _, i in keyed]
