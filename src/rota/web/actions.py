"""The operator actions of the web layer, shared by the REST API and the dashboard.

Each calls the same facade verb as the CLI, refuses what cannot be done with the same
``ApiError`` (the API answers it as JSON, the dashboard as a page), and logs one line saying
who did what to which record: ``action role=admin action=retry_run target=run:12``.
"""

from __future__ import annotations

import logging

from rota.app import App
from rota.batch.model import BatchExecution
from rota.limits import quote
from rota.queues import Queue
from rota.runs import Run, RunState
from rota.scheduling.model import Schedule
from rota.usecases.queues import Rate, Unchanged
from rota.usecases.runs import retry_refusal
from rota.web.auth import Role
from rota.web.errors import ApiError
from rota.workflows import WorkflowRecord

log = logging.getLogger("rota.web.actions")


def _logged(role: Role, action: str, target: str) -> None:
    log.info("action role=%s action=%s target=%s", role, action, target)


def retry_run(app: App, role: Role, run_id: int) -> Run:
    """Put a failed or cancelled run back to ``queued`` (409 if it is in another state)."""
    if not app.runs.retry([run_id]):
        raise ApiError(409, "conflict", retry_refusal(app.runs.get(run_id)))
    _logged(role, "retry_run", f"run:{run_id}")
    return app.runs.get(run_id)


def cancel_run(app: App, role: Role, run_id: int) -> Run:
    """Cancel a waiting run at once, ask a running one to stop (409 if it has ended)."""
    run = app.runs.get(run_id)
    if run.state.terminal:
        raise ApiError(409, "conflict", f"run {run_id} has already ended {run.state.value}")
    app.runs.cancel(run_id)
    _logged(role, "cancel_run", f"run:{run_id}")
    return app.runs.get(run_id)


def delete_run(app: App, role: Role, run_id: int) -> None:
    """Delete a run that has ended (409 if it has not)."""
    if not app.runs.delete(run_id):
        run = app.runs.get(run_id)
        why = (
            "a step after it in its workflow has not succeeded yet (it may need this run)"
            if run.state.terminal
            else "only ended runs can be deleted (cancel it)"
        )
        raise ApiError(409, "conflict", f"run {run_id} is {run.state.value}: {why}")
    _logged(role, "delete_run", f"run:{run_id}")


def retry_where(app: App, role: Role, state: RunState, job: str | None, queue: str | None) -> int:
    """Retry every run in ``state`` (failed or cancelled) of ``job`` in ``queue``; how many."""
    retried = app.runs.retry_where(state, job=job, queue=queue)
    target = f"runs:state={state.value},job={quote(job)},queue={quote(queue)}"
    _logged(role, "retry_runs", f"{target} retried={retried}")
    return retried


def pause_schedule(app: App, role: Role, name: str) -> Schedule:
    schedule = app.schedules.pause(name)
    _logged(role, "pause_schedule", f"schedule:{quote(name)}")
    return schedule


def resume_schedule(app: App, role: Role, name: str) -> Schedule:
    schedule = app.schedules.resume(name)
    _logged(role, "resume_schedule", f"schedule:{quote(name)}")
    return schedule


def trigger_schedule(app: App, role: Role, name: str) -> Run:
    handle = app.schedules.trigger(name)
    _logged(role, "trigger_schedule", f"schedule:{quote(name)} run:{handle.id}")
    return app.runs.get(handle.id)


def pause_queue(app: App, role: Role, name: str) -> Queue:
    queue = app.queues.pause(name)
    _logged(role, "pause_queue", f"queue:{quote(name)}")
    return queue


def resume_queue(app: App, role: Role, name: str) -> Queue:
    queue = app.queues.resume(name)
    _logged(role, "resume_queue", f"queue:{quote(name)}")
    return queue


def set_queue_limits(
    app: App,
    role: Role,
    name: str,
    concurrency: int | Unchanged | None,
    rate_limit: Rate | Unchanged | None,
) -> Queue:
    queue = app.queues.set(name, concurrency=concurrency, rate_limit=rate_limit)
    limits = f"concurrency={queue.concurrency} rate={queue.rate}"
    _logged(role, "set_queue_limits", f"queue:{quote(name)} {limits}")
    return queue


def restart_execution(app: App, role: Role, execution_id: int) -> BatchExecution:
    execution = app.batches.restart(execution_id)
    _logged(role, "restart_execution", f"execution:{execution_id} new:{execution.id}")
    return execution


def stop_execution(app: App, role: Role, execution_id: int) -> BatchExecution:
    execution = app.batches.stop(execution_id)
    _logged(role, "stop_execution", f"execution:{execution_id}")
    return execution


def abandon_execution(app: App, role: Role, execution_id: int) -> BatchExecution:
    execution = app.batches.abandon(execution_id)
    _logged(role, "abandon_execution", f"execution:{execution_id}")
    return execution


def retry_workflow(app: App, role: Role, workflow_id: int) -> WorkflowRecord:
    """Put a workflow's failed and cancelled steps back (409 if it has none); the steps that
    succeeded are not run again."""
    retried = app.workflows.retry(workflow_id)
    if not retried:
        state = app.workflows.show(workflow_id).state.value
        raise ApiError(
            409,
            "conflict",
            f"workflow {workflow_id} is {state}: it has no failed or cancelled step to retry",
        )
    _logged(role, "retry_workflow", f"workflow:{workflow_id} runs:{len(retried)}")
    return app.workflows.show(workflow_id)


def cancel_workflow(app: App, role: Role, workflow_id: int) -> WorkflowRecord:
    """Cancel a workflow's steps not ended yet, running ones cooperatively (409 if every step
    has ended)."""
    before = app.workflows.show(workflow_id)
    if before.state.terminal:
        raise ApiError(
            409, "conflict", f"workflow {workflow_id} has already ended {before.state.value}"
        )
    after = app.workflows.cancel(workflow_id)
    _logged(role, "cancel_workflow", f"workflow:{workflow_id}")
    return after
