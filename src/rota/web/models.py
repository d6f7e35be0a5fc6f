"""The JSON shapes of the REST API, as pydantic models: they validate input and document output.

Output objects are built by the core (``Run.to_json()``, ``schedule_json``, ...); the models
here describe them for the OpenAPI document and check them on the way out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rota.limits import MAX_AHEAD_SECONDS, MAX_KEY, MAX_LIMIT, MAX_NAME, MAX_RATE_PERIOD

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
INT32 = 2**31 - 1


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LaunchBody(Strict):
    """A launch: the job's arguments and the options of this run."""

    args: dict[str, Any] = Field(default_factory=dict, description="the job's arguments by name")
    delay: float | None = Field(
        default=None, ge=0, le=MAX_AHEAD_SECONDS, description="seconds from now (at most 10 years)"
    )
    run_at: datetime | None = Field(
        default=None, description="start time (UTC if naive; at most 10 years ahead)"
    )
    priority: int | None = Field(default=None, ge=-INT32 - 1, le=INT32, description="lower first")
    queue: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    unique_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_KEY,
        description="while a run with this key is pending, launching again returns that run",
    )
    max_attempts: int | None = Field(default=None, ge=1, le=1_000_000)


class BulkRetryBody(Strict):
    """Which runs to put back to ``queued``: every run in ``state``, of ``job``, in ``queue``."""

    state: Literal["failed", "cancelled"]
    job: str | None = Field(default=None, min_length=1, max_length=MAX_KEY)
    queue: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)


class Retried(BaseModel):
    retried: int = Field(description="how many runs went back to queued")


class Open(BaseModel):
    """An output object: more fields may come in later versions."""

    model_config = ConfigDict(extra="allow")


class ErrorEntryOut(Open):
    attempt: int
    type: str
    message: str
    traceback: str
    at: Timestamp


class RunOut(Open):
    id: int
    job: str
    queue: str
    state: str
    args: dict[str, Any]
    priority: int
    attempt: int
    max_attempts: int
    schedule: str | None
    unique_key: str | None
    run_at: Timestamp
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    result: Any
    errors: list[ErrorEntryOut]
    progress: dict[str, Any] | None
    cancel_requested: bool
    timeout: float | None
    node: str | None
    workflow: int | None = Field(description="the id of the workflow it is a step of, or null")
    step: str | None = Field(description="its step's name in that workflow, or null")


class ParamOut(Open):
    name: str
    type: str
    required: bool
    default: Any = None


class JobOut(Open):
    name: str
    kind: str
    queue: str
    max_attempts: int
    priority: int
    timeout: float | None
    is_async: bool
    executor: str = "default"
    params: list[ParamOut]
    doc: str


class ScheduleOut(Open):
    name: str
    job: str
    kwargs: dict[str, Any]
    trigger: str
    cron: str | None
    every: float | None
    at: Timestamp | None
    timezone: str
    misfire: str
    misfire_grace: float
    overlap: bool
    paused: bool
    source: str
    options: dict[str, Any]
    next_fire_at: Timestamp | None
    last_fire_at: Timestamp | None


class NodeOut(Open):
    id: str
    hostname: str
    pid: int
    roles: list[str]
    started_at: Timestamp
    last_seen_at: Timestamp
    stopped_at: Timestamp | None
    state: str
    info: dict[str, Any]


class BatchStepOut(Open):
    """One step of a batch execution (a partitioned step sums its partitions)."""

    name: str
    state: str
    read: int
    written: int
    skipped: int
    filtered: int
    commits: int
    rollbacks: int
    exit_status: str | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    error: str | None


class BatchPartitionOut(BatchStepOut):
    partition: int
    run_id: int | None


class BatchStepWithPartitionsOut(BatchStepOut):
    partitions: list[BatchPartitionOut] | None = Field(
        default=None, description="only for a partitioned step: one entry per partition"
    )


class BatchExecutionOut(Open):
    id: int
    job: str
    args: dict[str, Any]
    state: str
    run_id: int | None
    instance_id: int
    restart_of: int | None
    exit_status: str | None
    error: str | None
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    steps: list[BatchStepWithPartitionsOut]


def _json_number(value: Any) -> Any:
    """A limit is a JSON number: pydantic would take ``true`` as 1 and ``"3"`` as 3."""
    if isinstance(value, bool | str):
        raise ValueError("must be a number, not text or true/false")
    return value


Count = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_json_number)]
Seconds = Annotated[
    float, Field(gt=0, le=MAX_RATE_PERIOD, allow_inf_nan=False), BeforeValidator(_json_number)
]


class RateLimit(Strict):
    """At most ``limit`` starts in any window of ``period`` seconds, cluster-wide."""

    limit: Count
    period: Seconds = Field(description="seconds")


class QueuePatch(Strict):
    """New limits of a queue: a field left out is unchanged, null removes the limit."""

    concurrency: Count | None = Field(
        default=None,
        description="at most N of its runs running at once",
    )
    rate_limit: RateLimit | None = None


class QueueOut(Open):
    name: str
    paused: bool
    concurrency: int | None
    rate_limit: RateLimit | None
    queued: int = Field(description="runs queued, counted up to count_cap")
    running: int = Field(description="runs running, counted up to count_cap")
    oldest_queued_at: Timestamp | None
    count_cap: int = Field(description="a count equal to it means at least that many")


class WorkflowStepOut(Open):
    """One step of a workflow: a run of a job, started once every step in ``after`` succeeded."""

    name: str
    job: str
    run_id: int
    state: str = Field(description="the state of the step's run")
    after: list[str] = Field(description="the steps it comes after")


class WorkflowOut(Open):
    id: int
    name: str
    state: Literal["running", "succeeded", "failed", "cancelled"]
    created_at: Timestamp
    finished_at: Timestamp | None
    steps: list[WorkflowStepOut] = Field(description="upstream steps first")


class Page(BaseModel):
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: last")


class RunPage(Page):
    items: list[RunOut]


class JobPage(Page):
    items: list[JobOut]


class SchedulePage(Page):
    items: list[ScheduleOut]


class BatchExecutionPage(Page):
    items: list[BatchExecutionOut]


class WorkflowPage(Page):
    items: list[WorkflowOut]


class QueuePage(Page):
    items: list[QueueOut]


class NodePage(Page):
    items: list[NodeOut]


class Health(BaseModel):
    status: str


class ErrorDetail(BaseModel):
    loc: list[str | int]
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="stable, machine-readable: not_found, validation_error, ...")
    message: str
    details: list[ErrorDetail] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
