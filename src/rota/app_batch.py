"""The batch half of App's API: ``@app.batch`` and the execution operations."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, overload

from rota.batch import operations
from rota.batch.definition import PARTITION_JOB, BatchDefinition
from rota.batch.model import BatchExecution, BatchState
from rota.batch.partitions import run_partition
from rota.batch.runner import run_batch
from rota.batch.runtime import BatchRuntime
from rota.clock import Clock
from rota.context import Context
from rota.handle import RunHandle
from rota.jobs import DEFAULT_QUEUE, Job, JobOptions, JobSpec, LaunchOptions
from rota.storage.base import Store

F = Callable[..., Any]
CONTEXT_PARAM = "_rota_context"


class BatchMixin:
    """Batch jobs of an App: each verb calls the one use case in ``rota.batch.operations``."""

    # provided by App
    _jobs: dict[str, JobSpec]
    clock: Clock
    lease_seconds: float

    @property
    def store(self) -> Store:
        raise NotImplementedError

    def register(self, spec: JobSpec) -> Job:
        raise NotImplementedError

    def launch(
        self, job: str, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions
    ) -> list[RunHandle]:
        raise NotImplementedError

    def _batch_runtime(self) -> BatchRuntime:
        return BatchRuntime(lambda: self.store, self._jobs, self.clock, self.lease_seconds)

    @overload
    def batch(self, func: F, /) -> Job: ...
    @overload
    def batch(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = 1,
        priority: int = 0,
        restart_limit: int | None = None,
        identifying: Sequence[str] | None = None,
    ) -> Callable[[F], Job]: ...

    def batch(
        self,
        func: F | None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = 1,
        priority: int = 0,
        restart_limit: int | None = None,
        identifying: Sequence[str] | None = None,
    ) -> Job | Callable[[F], Job]:
        """Define a batch job: ``func(**args)`` returns its ``batch.Flow``.

        Its arguments identify the instance (``identifying=`` names a subset; the others do
        not). A failed execution is restarted on purpose, so runs get one attempt by default.
        """
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if restart_limit is not None and restart_limit < 0:
            raise ValueError("restart_limit must be >= 0")

        def register(f: F) -> Job:
            job_name = name or f.__name__
            spec = JobSpec.from_function(f, job_name, JobOptions(queue, max_attempts, priority))
            if spec.is_async:
                raise TypeError(f"batch job {job_name!r}: the flow function must not be async")
            known = {p.name for p in spec.params}
            unknown = set(identifying or ()) - known
            if unknown:
                raise ValueError(f"batch job {job_name!r}: identifying names unknown {unknown}")
            convert = spec.call_args  # the flow function gets objects (a datetime, an Enum...)
            definition = BatchDefinition(
                job_name,
                lambda **args: f(**convert(args)),
                restart_limit,
                tuple(identifying) if identifying else None,
            )
            self._ensure_partition_job()
            runtime = self._batch_runtime()

            def execute(**kwargs: Any) -> dict[str, Any]:
                ctx: Context = kwargs[CONTEXT_PARAM]
                return run_batch(runtime, definition, ctx)

            execute.__doc__ = f.__doc__
            spec = dataclasses.replace(
                spec,
                func=execute,
                context_param=CONTEXT_PARAM,
                kind="batch",
                extra={"batch": definition, "build": f},
            )
            return self.register(spec)

        return register(func) if func is not None else register

    def _ensure_partition_job(self) -> None:
        if PARTITION_JOB in self._jobs:
            return
        runtime = self._batch_runtime()

        def partition(execution_id: int, step: str, partition: int, ctx: Context) -> dict[str, Any]:
            return run_partition(runtime, ctx, execution_id, step, partition)

        spec = JobSpec.from_function(partition, PARTITION_JOB, JobOptions(max_attempts=1))
        self._jobs[PARTITION_JOB] = dataclasses.replace(spec, kind="internal")

    # -- operations ----------------------------------------------------------------------
    def batch_executions(
        self,
        *,
        job: str | None = None,
        states: Sequence[BatchState | str] = (),
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[BatchExecution]:
        """Executions, newest first."""
        wanted = tuple(BatchState(s) for s in states)
        return operations.list_executions(
            self.store, job=job, states=wanted, limit=limit, before_id=before_id
        )

    def batch_execution(self, execution_id: int) -> BatchExecution:
        return operations.get(self.store, execution_id)

    def batch_execution_for_run(self, run_id: int) -> BatchExecution | None:
        return self.store.batch_for_run(run_id)

    def batch_restart(self, execution_id: int) -> BatchExecution:
        """Restart a failed or stopped execution as a new execution of its instance."""
        execution = operations.get(self.store, execution_id)
        operations.check_restart(self.store, execution)
        run = self.store.runs_get(execution.run_id) if execution.run_id is not None else None
        options = (
            LaunchOptions(queue=run.queue, priority=run.priority, max_attempts=run.max_attempts)
            if run is not None
            else LaunchOptions()
        )
        handle = self.launch(execution.job, [execution.args], options)[0]
        created = self.store.batch_for_run(handle.id)
        assert created is not None
        return created

    def batch_stop(self, execution_id: int) -> BatchExecution:
        """Stop at the next chunk boundary (state ``stopping``, then ``stopped``)."""
        return operations.stop(self.store, execution_id, self._batch_now())

    def batch_abandon(self, execution_id: int) -> BatchExecution:
        """Mark a failed or stopped execution (and so its instance) never to be restarted."""
        return operations.abandon(self.store, execution_id, self._batch_now())

    def _batch_now(self) -> datetime:
        return self.clock.now()
