"""``app.workflows``: the workflow use cases bound to an app's store, clock and jobs."""

from __future__ import annotations

import builtins
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from rota.clock import Clock
from rota.context import Context
from rota.handle import WorkflowHandle
from rota.jobs import JobSpec
from rota.storage.base import Store
from rota.usecases import workflows
from rota.workflows import Workflow, WorkflowRecord


class Workflows:
    """Workflows of an app: enqueue one, look them up, retry or cancel one."""

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        jobs: Mapping[str, JobSpec],
        wake: Callable[[], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._jobs = jobs
        self._wake = wake

    def enqueue(
        self, wf: Workflow, connection: Any = None, parent_run_id: int | None = None
    ) -> WorkflowHandle:
        """Insert every step in one transaction (``connection``: the caller's, never committed
        here); ``parent_run_id``: the ``@app.workflow`` run enqueueing it, whose retried
        attempt gets the same workflow back."""
        now = self._clock.now()
        done = workflows.enqueue(self._store(), self._jobs, wf, now, connection, parent_run_id)
        if connection is None:
            self._wake()
        return WorkflowHandle(self, done.id, done.created)

    def get(self, workflow_id: int) -> WorkflowHandle:
        """A handle of the workflow; ``WorkflowNotFound`` if there is none."""
        workflows.get(self._store(), workflow_id)
        return WorkflowHandle(self, workflow_id, created=False)

    def show(self, workflow_id: int) -> WorkflowRecord:
        """The workflow with its steps, states and edges, as stored now."""
        return workflows.get(self._store(), workflow_id)

    def list(self, limit: int = 50, before_id: int | None = None) -> builtins.list[WorkflowRecord]:
        """Newest first; ``before_id``: the next page (the last id of this one)."""
        return workflows.list_workflows(self._store(), limit, before_id)

    def retry(self, workflow_id: int) -> builtins.list[int]:
        """Put the failed and cancelled steps back; returns their run ids."""
        retried = workflows.retry(self._store(), workflow_id, self._clock.now())
        self._wake()
        return retried

    def cancel(self, workflow_id: int) -> WorkflowRecord:
        """Cancel every step not ended yet (running ones are asked to stop)."""
        return workflows.cancel(self._store(), workflow_id, self._clock.now())

    def decorator(self, define: Callable[..., Any], func: Any, options: Mapping[str, Any]) -> Any:
        """``@app.workflow``, bare or with job options: ``define`` is ``app.job``."""

        def register(f: Callable[..., Any]) -> Any:
            return define(**{"name": f.__name__, **options})(self.job_of(f))

        return register(func) if func is not None else register

    def job_of(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The function an ``@app.workflow`` job runs: call ``func`` with the run's arguments
        and enqueue the Workflow it returns, once per run (a retried attempt finds the one
        enqueued before); the run's result is the workflow's id."""
        hints = typing.get_type_hints(func)
        sig = inspect.signature(func)
        if any(
            p.annotation is Context or hints.get(n) is Context for n, p in sig.parameters.items()
        ):
            raise TypeError(f"workflow {func.__name__!r}: a workflow function takes no Context")

        @functools.wraps(func)
        def run_workflow(*args: Any, **kwargs: Any) -> int:
            ctx = kwargs.pop(_CTX)
            wf = func(*args, **kwargs)
            if not isinstance(wf, Workflow):
                raise TypeError(
                    f"workflow function {func.__name__!r} returned {type(wf).__name__}, "
                    "not a rota.Workflow"
                )
            return self.enqueue(wf, parent_run_id=ctx.run_id).id

        ctx_param = inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=Context)
        params = [
            p.replace(annotation=hints.get(n, p.annotation)) for n, p in sig.parameters.items()
        ]
        run_workflow.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*params, ctx_param], return_annotation=int
        )
        run_workflow.__annotations__ = {**hints, _CTX: Context, "return": int}
        del run_workflow.__wrapped__  # the job's signature is the one set above
        return run_workflow


_CTX = "_rota_context"
