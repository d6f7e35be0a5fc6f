"""Workflow use cases: enqueue a workflow's steps in one transaction, read, retry, cancel.

Every launcher goes through these: the Python API (``app.workflows``, ``Workflow.enqueue``),
the CLI, REST, the dashboard, and an ``@app.workflow`` job's run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rota.errors import InvalidArguments, UnknownJob, WorkflowNotFound
from rota.jobs import JobSpec, LaunchOptions
from rota.launch import build_runs
from rota.runs import RETRYABLE, RunState
from rota.storage.base import CancelParams, RetryParams, Store
from rota.storage.new_runs import NewRun
from rota.storage.workflow_store import WorkflowInsert, WorkflowInserted
from rota.usecases.inputs import check_id, check_page
from rota.workflows import StepSpec, Workflow, WorkflowRecord, job_name


def _step_run(spec: JobSpec, step: StepSpec, now: datetime) -> NewRun:
    try:
        [run] = build_runs(spec, [step.args], LaunchOptions(), now)
    except InvalidArguments as exc:
        raise InvalidArguments(f"step {step.name!r}: {exc}") from None
    state = RunState.WAITING if step.after else run.state
    return dataclasses.replace(run, state=state, step=step.name)


def enqueue(
    store: Store,
    jobs: Mapping[str, JobSpec],
    wf: Workflow,
    now: datetime,
    connection: Any = None,
    parent_run_id: int | None = None,
) -> WorkflowInserted:
    """Check every step (shape, job, arguments), then insert them all in one transaction;
    nothing is stored when anything is wrong. Steps are inserted upstreams first."""
    if not isinstance(wf, Workflow):
        raise InvalidArguments(f"expected a rota.Workflow, got {type(wf).__name__}")
    ordered = wf.ordered()
    runs = []
    for step in ordered:
        spec = jobs.get(job_name(step.job))
        if spec is None:
            raise UnknownJob(f"{job_name(step.job)} (step {step.name!r})")
        runs.append(_step_run(spec, step, now))
    position = {s.name: i for i, s in enumerate(ordered)}
    edges = [(position[up], i) for i, s in enumerate(ordered) for up in dict.fromkeys(s.after)]
    return store.workflow_insert(
        WorkflowInsert(wf.name, runs, edges, now, connection, parent_run_id)
    )


def get(store: Store, workflow_id: int) -> WorkflowRecord:
    found = store.workflows_get([check_id(workflow_id, "workflow id")])
    if not found:
        raise WorkflowNotFound(workflow_id)
    return found[0]


def list_workflows(
    store: Store, limit: int = 50, before_id: int | None = None
) -> list[WorkflowRecord]:
    limit = check_page(limit)
    if before_id is not None:
        before_id = check_id(before_id, "cursor")
    return store.workflows_list(limit, before_id)


def retry(store: Store, workflow_id: int, now: datetime) -> list[int]:
    """Put the failed and cancelled steps back (queued, or waiting for their upstreams); the
    steps that succeeded are not run again. Returns the steps' run ids put back."""
    record = get(store, workflow_id)
    ids = [s.run_id for s in record.steps if s.state in RETRYABLE]
    return store.runs_retry(RetryParams(ids, now)) if ids else []


def cancel(store: Store, workflow_id: int, now: datetime) -> WorkflowRecord:
    """Cancel every step not ended: waiting and queued ones at once, running ones asked to
    stop. Returns the workflow as it is then."""
    record = get(store, workflow_id)
    ids = [s.run_id for s in record.steps if not s.state.terminal]
    if ids:
        store.runs_cancel(CancelParams(ids, now))
    return get(store, workflow_id)
