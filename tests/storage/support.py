"""Builders shared by the conformance suite: runs, claims and outcomes with explicit times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rota.runs import ErrorEntry, Event, Run, RunState
from rota.storage.base import (
    ClaimParams,
    InsertParams,
    NewRun,
    Outcome,
    Store,
)

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
NODE = "node-a"
OTHER_NODE = "node-b"


def at(seconds: float) -> datetime:
    """T0 plus ``seconds``: every test time is built from one fixed instant."""
    return T0 + timedelta(seconds=seconds)


def new_run(
    job: str = "send",
    *,
    args: dict[str, Any] | None = None,
    queue: str = "default",
    priority: int = 0,
    max_attempts: int = 3,
    run_at: datetime = T0,
    state: RunState | None = None,
    unique_key: str | None = None,
    schedule: str | None = None,
    timeout: float | None = None,
) -> NewRun:
    if state is None:
        state = RunState.SCHEDULED if run_at > T0 else RunState.QUEUED
    return NewRun(
        job=job,
        args={} if args is None else args,
        queue=queue,
        priority=priority,
        max_attempts=max_attempts,
        run_at=run_at,
        state=state,
        unique_key=unique_key,
        schedule=schedule,
        timeout=timeout,
    )


def insert(store: Store, *runs: NewRun, now: datetime = T0) -> list[int]:
    return [i.id for i in store.runs_insert_many(InsertParams(list(runs), now))]


def insert_one(store: Store, run: NewRun | None = None, now: datetime = T0) -> int:
    return insert(store, run or new_run(), now=now)[0]


def claim(
    store: Store,
    *,
    node: str = NODE,
    limit: int = 10,
    now: datetime = T0,
    queues: Sequence[str] | None = None,
    lease: timedelta = LEASE,
    run_id: int | None = None,
    finish: Sequence[Outcome] = (),
    jobs: Sequence[str] | None = None,
) -> list[Run]:
    return store.runs_claim(
        ClaimParams(
            node_id=node,
            queues=queues,
            limit=limit,
            now=now,
            lease_until=now + lease,
            finish=finish,
            run_id=run_id,
            jobs=jobs,
        )
    ).claimed


def get(store: Store, run_id: int) -> Run:
    run = store.runs_get(run_id)
    assert run is not None, f"run {run_id} is missing"
    return run


def error(
    attempt: int, now: datetime, kind: str = "ValueError", message: str = "boom"
) -> ErrorEntry:
    return ErrorEntry(attempt=attempt, type=kind, message=message, traceback="Traceback...", at=now)


def succeeded(run: Run, now: datetime, result: Any = None, node: str = NODE) -> Outcome:
    return Outcome.of(run, node, Event.SUCCEED, now, result=result)


def retrying(run: Run, now: datetime, next_at: datetime, node: str = NODE) -> Outcome:
    """A failed attempt with attempts left (the table decides: ``run`` must have some)."""
    o = Outcome.of(run, node, Event.FAIL, now, error=error(run.attempt, now), delay=next_at - now)
    assert o.state is RunState.RETRYING, "the run has no attempt left"
    return o


def failed(run: Run, now: datetime, node: str = NODE) -> Outcome:
    entry = error(run.attempt, now, "Discard", "not worth retrying")
    return Outcome.of(run, node, Event.DISCARD, now, error=entry)


def cancelled(run: Run, now: datetime, node: str = NODE) -> Outcome:
    return Outcome.of(run, node, Event.STOP, now)
