"""The storage seam: protocols of lifecycle verbs, each taking a frozen params dataclass.

Every backend (``sqlite/``, ``postgres/``) implements these; nothing above this layer writes
SQL. Times are aware UTC datetimes; ``now`` is always passed in, never read by the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rota.nodes import Node
from rota.runs import Outcome as Outcome  # the end of an attempt: decided by rota.runs
from rota.runs import Run, RunState
from rota.scheduling.model import FireRecord, Schedule
from rota.storage.batch_store import BatchStore
from rota.storage.leader_store import LeaderStore
from rota.storage.new_runs import BatchLaunch as BatchLaunch
from rota.storage.new_runs import NewRun as NewRun
from rota.storage.queue_store import QueueStore
from rota.storage.retention_store import RetentionStore
from rota.storage.workflow_store import WorkflowStore

JSON = Any


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A launch's idempotency key: the first launch with it is the only one for ``expires_at``."""

    key: str
    fingerprint: str
    """Digest of job, arguments and options: a repeat must match it, else it is a conflict."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InsertParams:
    runs: Sequence[NewRun]
    now: datetime
    connection: Any = None
    """An open DB-API connection of the caller: insert inside its transaction, never commit."""
    idempotency: IdempotencyKey | None = None
    """With one run only: store the key with the run in one transaction; a live key with the
    same fingerprint returns its run (created=False), another fingerprint raises
    ``IdempotencyConflict``."""


@dataclass(frozen=True, slots=True)
class Inserted:
    id: int
    created: bool
    """False when a non-terminal run with the same job and unique key was returned instead."""


@dataclass(frozen=True, slots=True)
class FinishParams:
    outcomes: Sequence[Outcome]


@dataclass(frozen=True, slots=True)
class Started:
    """A run claimed ahead of its queue's room (``started_at`` None) that started here, in
    the place of a run of its queue that ended here: written with that run's outcome."""

    run_id: int
    attempt: int
    at: datetime


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
    """Claim only this run, due or not, whatever its job or queue, paused or not: ``rota
    exec`` of a run it just launched, and a batch step running its own partitions, are explicit
    requests to run that run here now."""
    jobs: Sequence[str] | None = None
    """Claim only runs of these jobs, those the worker defines (None: any job). A run of a job
    a worker lacks (a rolling deploy, a renamed job) stays queued for a worker that has it."""
    limited: Sequence[LimitedJob] = ()
    """Jobs with limits (not named in ``jobs``; claimed too). With any, the claim reads its
    candidates in claim order, serialized per limited job across the cluster, and admits them
    by ``rota.admission``: limited runs in fair turns across groups, within each group's room
    and ``limited_slots`` runs; the others up to ``limit``."""
    limited_slots: int = 0
    queue_limits: bool = False
    """Some queue has a concurrency or rate limit (as a previous claim said): claim as a worker
    serving limited jobs does, since the one-statement claim leaves limited queues' runs."""
    started: Sequence[Started] = ()
    """Runs claimed ahead that started here since the last claim: written first, in the same
    transaction as the outcomes (so that a place moves from an ended run to its follower
    without ever being free, or counted twice, in between)."""
    ahead: int = 0
    """Past a queue's concurrency room, claim up to this many more of its runs, not started
    (``started_at`` None, holding no place): each starts here only in the place of a run of
    its queue that ends here. Only in queues this claim gives places in, or in
    ``placed_queues``; a rate limit still counts them as they are claimed."""
    placed_queues: Sequence[str] = ()
    """Limited queues in which this node holds started runs now."""
    slots: int | None = None
    """The claim of a worker without limits: the first this many runs in claim order start
    now, the others are claimed ahead, not started (``started_at`` None) until the node
    starts them (``started``, or an outcome's ``started_at``). None: all start now."""


@dataclass(frozen=True, slots=True)
class LimitedJob:
    """A job's limits as the claim applies them: counts come from running runs (a rescued run
    frees its place) and from the log of starts within ``rate_period``."""

    job: str
    concurrency: int | None = None
    rate_limit: int | None = None
    rate_period: float | None = None
    concurrency_keyed: bool = True
    """Whether the limit is per key (the group each run was launched with). A job-wide limit
    ignores the groups: its runs may come from an earlier version of the job, keyed then."""
    rate_keyed: bool = True


@dataclass(frozen=True, slots=True)
class ForeignParams:
    """Which jobs other than ``jobs`` have due runs waiting in ``queues`` (None: every queue),
    among the first ``scan`` such runs in claim order: bounded, for a worker's occasional look."""

    jobs: Sequence[str]
    queues: Sequence[str] | None
    now: datetime
    scan: int = 1000


@dataclass(frozen=True, slots=True)
class ClaimResult:
    claimed: list[Run]
    refused: list[Outcome] = field(default_factory=list)
    """Outcomes whose attempt the worker no longer held (rescued): not written."""
    queue_limits: bool = False
    """Whether some queue had a limit when claiming (see ClaimParams.queue_limits)."""


@dataclass(frozen=True, slots=True)
class ReleaseParams:
    """Runs a stopping node hands back unfinished: (run id, attempt) pairs it still holds."""

    node_id: str
    runs: Sequence[tuple[int, int]]
    now: datetime | None = None
    """When it is handed back: the end of a run that was asked to cancel meanwhile (it ends
    ``cancelled`` then, not ``queued``). None: the store's clock."""


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
    dead_before: datetime | None = None
    """Liveness: the running runs of a node stopped, or not seen since then, are due too
    (whatever their leases). None: by lease only. Runs of a node with no row keep the lease."""


@dataclass(frozen=True, slots=True)
class ListParams:
    states: Sequence[RunState] = ()
    job: str | None = None
    queue: str | None = None
    limit: int = 50
    before_id: int | None = None
    """Cursor: only runs with a lower id (the list is newest first)."""
    created_after: datetime | None = None
    created_before: datetime | None = None
    search: str | None = None
    """Only runs whose stored arguments, as JSON text, contain this text, ignoring case
    (``%``, ``_`` and ``\\`` match themselves). The text is each backend's own: compact in
    SQLite (``{"a":1}``), PostgreSQL's jsonb output (``{"a": 1}``) there; SQLite ignores the
    case of ASCII letters only. No index serves it: bound it with ``min_id`` (the use case
    reads SEARCH_SCOPE ids at most), or a rare text reads the whole table."""
    min_id: int | None = None
    """Only runs with this id or a higher one (the oldest end of a search's scope)."""


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
class FireParams:
    """Compare-and-set a schedule's next fire time, and create its runs, atomically."""

    name: str
    expected_next: datetime
    new_next: datetime | None
    runs: Sequence[tuple[datetime, NewRun]]
    """(fire time, run) pairs: each creates its run only if that fire time is new."""
    records: Sequence[FireRecord]
    """History of fire times that create no run (missed, skipped, overlap)."""
    node_id: str
    now: datetime


class ScheduleStore(Protocol):
    """Schedules and their fire history; firing is exactly once per fire time."""

    def schedules_upsert(self, schedule: Schedule) -> None:
        """Insert or update; an unchanged trigger_key keeps the stored trigger and next fire."""
        ...

    def schedules_list(self) -> list[Schedule]: ...
    def schedule_get(self, name: str) -> Schedule | None: ...
    def schedules_due(self, now: datetime, limit: int) -> list[Schedule]: ...
    def schedules_next_fire(self) -> datetime | None: ...
    def schedule_fire(self, params: FireParams) -> list[int] | None:
        """The ids of the runs created, or None when another node fired it first."""
        ...

    def schedule_set_paused(
        self, name: str, paused: bool, next_fire_at: datetime | None, now: datetime
    ) -> bool: ...
    def schedules_delete(self, names: Sequence[str]) -> int: ...
    def schedule_fires(self, name: str, limit: int) -> list[FireRecord]: ...
    def schedule_active_runs(self, name: str) -> int:
        """How many runs of this schedule are not terminal (for overlap=False)."""
        ...


class RunStore(Protocol):
    """The life of a run, from insert to purge."""

    def runs_insert_many(self, params: InsertParams) -> list[Inserted]: ...
    def runs_get(self, run_id: int) -> Run | None: ...
    def runs_list(self, params: ListParams) -> list[Run]: ...
    def runs_newest_id(self) -> int | None:
        """The highest run id (the newest run), or None when there is no run."""
        ...

    def runs_claim(self, params: ClaimParams) -> ClaimResult: ...
    def runs_finish(self, params: FinishParams) -> list[Outcome]:
        """Record outcomes; returns the refused ones (the attempt was no longer held)."""
        ...

    def rate_starts_prune(self, before: datetime, limit: int = 1000) -> int:
        """Forget at most ``limit`` rate-limited starts that expired before ``before``,
        whatever their scope; returns how many."""
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

    def runs_foreign_jobs(self, params: ForeignParams) -> list[str]:
        """The distinct names of jobs outside ``params.jobs`` with due runs waiting."""
        ...

    def runs_count_by_state(self) -> dict[RunState, int]: ...


class NodeStore(Protocol):
    def node_register(self, node: Node) -> None: ...
    def node_heartbeat(self, node_id: str, now: datetime) -> None: ...
    def node_stop(self, node_id: str, now: datetime) -> None: ...
    def nodes_list(self, seen_after: datetime) -> list[Node]: ...
    def nodes_prune(self, seen_before: datetime) -> int: ...
    def db_now(self) -> datetime:
        """The database's clock now (PostgreSQL's; SQLite's is this process's own)."""
        ...


class IdempotencyStore(Protocol):
    def idempotency_prune(self, now: datetime, limit: int = 1000) -> int:
        """Forget at most ``limit`` keys expired at ``now``; returns how many."""
        ...


@dataclass(frozen=True, slots=True)
class RunCount:
    state: RunState
    queue: str
    count: int


@dataclass(frozen=True, slots=True)
class MinuteCount:
    minute: datetime
    """The start of the minute (UTC)."""
    state: RunState
    """A terminal state: the runs that ended so within the minute."""
    count: int


@dataclass(frozen=True, slots=True)
class QueueDue:
    queue: str
    due: datetime
    """When the queue's oldest queued run was due: created, or its run_at if later."""


@dataclass(frozen=True, slots=True)
class FireCount:
    schedule: str
    outcome: str
    count: int


class StatsStore(Protocol):
    """Cheap aggregates for metrics and the dashboard, each answered from an index."""

    def runs_count_by_state_queue(self) -> list[RunCount]:
        """Every run counted: it reads an index entry per run (for metrics)."""
        ...

    def runs_count_by_state_queue_upto(self, cap: int) -> list[RunCount]:
        """Each (state, queue) with runs, counted up to ``cap`` (a count of ``cap`` means at
        least that many): bounded by the pairs and the cap, whatever the table holds."""
        ...

    def runs_finished_per_minute(self, since: datetime, until: datetime) -> list[MinuteCount]:
        """Runs that ended (succeeded, failed, cancelled) from ``since`` to before ``until``,
        per minute (UTC, from the epoch) and state; minutes without any are left out."""
        ...

    def runs_oldest_queued(self) -> list[QueueDue]:
        """For each queue with queued runs, when the oldest of them was due."""
        ...

    def runs_running_per_node(self) -> dict[str, int]:
        """How many runs each node has ``running``: it reads the running runs only."""
        ...

    def schedule_fire_counts(self) -> list[FireCount]: ...


class Notifier(Protocol):
    """Wakes a waiting worker when runs may be due; a fallback poll covers lost wake-ups."""

    def wait(self, timeout: float) -> bool: ...
    def close(self) -> None: ...


class BatchRunStore(BatchStore, RunStore, Protocol):
    """What batch executions work with: their own rows, and the runs that carry them."""


class Store(
    RunStore,
    NodeStore,
    ScheduleStore,
    IdempotencyStore,
    StatsStore,
    BatchStore,
    LeaderStore,
    QueueStore,
    WorkflowStore,
    RetentionStore,
    Protocol,
):
    url: str
    backend: str

    def migrate(self) -> int:
        """Create or upgrade the schema; safe when several nodes do it at once."""
        ...

    def schema_version(self) -> int: ...
    def notifier(self, queues: Sequence[str] | None) -> Notifier: ...
    def close(self) -> None: ...
