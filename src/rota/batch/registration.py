"""Batch jobs as the worker runs them: a flow function wrapped into a job, and the internal
job that runs one partition of a partitioned step. ``@app.batch`` registers what this builds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from rota.batch.definition import PARTITION_JOB, BatchDefinition
from rota.batch.partitions import run_partition
from rota.batch.runner import run_batch
from rota.batch.runtime import BatchRuntime
from rota.context import Context
from rota.jobs import JobOptions, JobSpec

CONTEXT_PARAM = "_rota_context"


def batch_spec(
    f: Callable[..., Any],
    name: str,
    options: JobOptions,
    runtime: BatchRuntime,
    restart_limit: int | None = None,
    identifying: Sequence[str] | None = None,
) -> JobSpec:
    """The job of a batch: its run builds the flow from ``f(**args)`` and runs it."""
    if options.max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if restart_limit is not None and restart_limit < 0:
        raise ValueError("restart_limit must be >= 0")
    spec = JobSpec.from_function(f, name, options)
    if spec.is_async:
        raise TypeError(f"batch job {name!r}: the flow function must not be async")
    known = {p.name for p in spec.params}
    unknown = set(identifying or ()) - known
    if unknown:
        raise ValueError(f"batch job {name!r}: identifying names unknown {unknown}")
    convert = spec.call_args  # the flow function gets objects (a datetime, an Enum...)
    definition = BatchDefinition(
        name,
        lambda **args: f(**convert(args)),
        restart_limit,
        tuple(identifying) if identifying else None,
    )

    def execute(**kwargs: Any) -> dict[str, Any]:
        ctx: Context = kwargs[CONTEXT_PARAM]
        return run_batch(runtime, definition, ctx)

    execute.__doc__ = f.__doc__
    return dataclasses.replace(
        spec,
        func=execute,
        context_param=CONTEXT_PARAM,
        kind="batch",
        extra={"batch": definition, "build": f},
    )


def partition_spec(runtime: BatchRuntime) -> JobSpec:
    """rota's internal job that runs one partition of a partitioned step on any worker."""

    def partition(execution_id: int, step: str, partition: int, ctx: Context) -> dict[str, Any]:
        return run_partition(runtime, ctx, execution_id, step, partition)

    spec = JobSpec.from_function(partition, PARTITION_JOB, JobOptions(max_attempts=1))
    return dataclasses.replace(spec, kind="internal")
