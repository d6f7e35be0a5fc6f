"""The storage seam: protocols of lifecycle verbs, each taking a frozen params dataclass.

Every backend (``sqlite/``, ``postgres/``) implements these; nothing above this layer writes
SQL. Times are aware UTC datetimes; ``now`` is always passed in, never read by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rota.runs import ErrorEntry, Run, RunState

JSON = Any


@dataclass(frozen=True, slots=True)
class NewRun:
    job: str
    args: dict[str, JSON]
    queue: str
    priority: int
    max_attempts: int
    run_at: datetime
    state: RunState  # queued or scheduled
    unique_key: str | None = None
    schedule: str | None = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class InsertParams:
    runs: Sequence[NewRun]
    now: datetime
    connection: Any = None
    """An open DB-API connection of the caller: insert inside its transaction, never commit."""


@dataclass(frozen=True, slots=True)
class Inserted:
    id: int
    created: bool
    """False when a non-terminal run with the same job and unique key was returned instead."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of one attempt, recorded only while the worker still holds that attempt."""

    run_id: int
    attempt: int
    node_id: str
    state: RunState  # succeeded, retrying, failed or cancelled
    finished_at: datetime
    result: JSON = None
    error: ErrorEntry | None = None
    run_at: datetime | None = None  # when retrying: the next attempt's time


@dataclass(frozen=True, slots=True)
class FinishParams:
    outcomes: Sequence[Outcome]


@dataclass(frozen=True, slots=True)
class ClaimParams:
    node_id: str
    queues: Sequence[str] | None
    """None: every queue."""
    limit: int
    now: datetime
    lease_until: datetime
    finish: Sequence[Outcome] = ()
    """Outcomes recorded in the same transaction, before claiming (saves a round trip)."""
    run_id: int | None = None
    """Claim only this run, due or not (``rota exec``)."""


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claimed: list[Run]
    refused: list[Outcome] = field(default_factory=list)
    """Outcomes whose attempt the worker no longer held (rescued): not written."""


@dataclass(frozen=True, slots=True)
class ReleaseParams:
    """Runs a stopping node hands back unfinished: (run id, attempt) pairs it still holds."""

    node_id: str
    runs: Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class HeartbeatParams:
    node_id: str
    now: datetime
    lease_until: datetime
    run_ids: Sequence[int]


@dataclass(frozen=True, slots=True)
class RescueParams:
    now: datetime
    limit: int = 500


@dataclass(frozen=True, slots=True)
class ListParams:
    states: Sequence[RunState] = ()
    job: str | None = None
    queue: str | None = None
    limit: int = 50
    before_id: int | None = None
    """Cursor: only runs with a lower id (the list is newest first)."""


@dataclass(frozen=True, slots=True)
class ProgressParams:
    run_id: int
    attempt: int
    progress: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class CancelParams:
    run_ids: Sequence[int]
    now: datetime


@dataclass(frozen=True, slots=True)
class RetryParams:
    run_ids: Sequence[int]
    now: datetime


@dataclass(frozen=True, slots=True)
class PurgeParams:
    states: Sequence[RunState]
    finished_before: datetime | None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    hostname: str
    pid: int
    roles: list[str]
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None = None
    info: dict[str, JSON] = field(default_factory=dict)

    def to_json(self, now: datetime, lease_seconds: float) -> dict[str, JSON]:
        alive = (
            self.stopped_at is None and (now - self.last_seen_at).total_seconds() < lease_seconds
        )
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": self.pid,
            "roles": self.roles,
            "started_at": self.started_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "state": "alive" if alive else ("stopped" if self.stopped_at else "dead"),
            "info": self.info,
        }


class RunStore(Protocol):
    """The life of a run, from insert to purge."""

    def runs_insert_many(self, params: InsertParams) -> list[Inserted]: ...
    def runs_get(self, run_id: int) -> Run | None: ...
    def runs_list(self, params: ListParams) -> list[Run]: ...
    def runs_claim(self, params: ClaimParams) -> ClaimResult: ...
    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        """Record outcomes; returns the refused ones (the attempt was no longer held)."""
        ...

    def runs_release(self, params: ReleaseParams) -> int: ...
    def runs_heartbeat(self, params: HeartbeatParams) -> list[int]:
        """Extend the leases of these running runs; returns those asked to cancel."""
        ...

    def runs_rescue(self, params: RescueParams) -> list[Run]: ...
    def runs_progress(self, params: ProgressParams) -> bool: ...
    def runs_cancel(self, params: CancelParams) -> dict[int, RunState]: ...
    def runs_retry(self, params: RetryParams) -> list[int]: ...
    def runs_delete(self, run_id: int) -> bool: ...
    def runs_purge(self, params: PurgeParams) -> int: ...
    def runs_promote(self, now: datetime) -> int:
        """Move due scheduled/retrying runs to queued (display only: claims take them anyway)."""
        ...

    def runs_next_due(self, queues: Sequence[str] | None, now: datetime) -> datetime | None: ...
    def runs_count_by_state(self) -> dict[RunState, int]: ...


class NodeStore(Protocol):
    def node_register(self, node: Node) -> None: ...
    def node_heartbeat(self, node_id: str, now: datetime) -> None: ...
    def node_stop(self, node_id: str, now: datetime) -> None: ...
    def nodes_list(self, seen_after: datetime) -> list[Node]: ...
    def nodes_prune(self, seen_before: datetime) -> int: ...


class Notifier(Protocol):
    """Wakes a waiting worker when runs may be due; a fallback poll covers lost wake-ups."""

    def wait(self, timeout: float) -> bool: ...
    def close(self) -> None: ...


class Store(RunStore, NodeStore, Protocol):
    url: str
    backend: str

    def migrate(self) -> int:
        """Create or upgrade the schema; safe when several nodes do it at once."""
        ...

    def schema_version(self) -> int: ...
    def notifier(self, queues: Sequence[str] | None) -> Notifier: ...
    def close(self) -> None: ...
