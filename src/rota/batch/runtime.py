"""What a batch run's attempt and its partitions' attempts share: the app's runtime, how their
runs end, and the fencing they write under.

A module of its own so that the runner (which walks the flow and fans partitioned steps out)
and the partitions (which run in child runs) both build on it instead of on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rota.clock import Clock
from rota.context import Context
from rota.errors import Snooze
from rota.jobs import JobSpec
from rota.storage.base import BatchRunStore, RunStore
from rota.storage.batch_store import Holder

LOST_LIMIT = 3
"""A run whose node died this many times fails its execution instead of resuming again."""


class BatchFailed(Exception):
    """The execution ended failed; its run fails (restart it to resume)."""


class BatchStopped(Exception):
    """The execution stopped on request; its run ends cancelled (restart it to resume)."""


@dataclass(frozen=True)
class BatchRuntime:
    """What batch runs need from their app: the store, the job registry and the clock."""

    store: Callable[[], BatchRunStore]
    jobs: Mapping[str, JobSpec]
    clock: Clock
    lease_seconds: float = 30.0


def error_text(exc: BaseException) -> str:
    if isinstance(exc, Snooze):  # an execution resumes on purpose (restart), not by itself later
        return f"Snooze: a batch step cannot snooze ({exc}); the step failed instead"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_errors(store: RunStore, run_id: int) -> list[dict[str, Any]]:
    run = store.runs_get(run_id)
    return run.errors if run is not None else []


def lost_count(store: RunStore, run_id: int) -> int:
    """How many times in a row this run's node died (the last errors, all ``WorkerLost``)."""
    return trailing_lost(run_errors(store, run_id))


def trailing_lost(errors: list[dict[str, Any]]) -> int:
    count = 0
    for e in reversed(errors):
        if e.get("type") != "WorkerLost":
            break
        count += 1
    return count


def holder_of(ctx: Context) -> Holder:
    return Holder(ctx.run_id, ctx.attempt, ctx.node_id)


def stop_run(ctx: Context, message: str) -> BatchStopped:
    ctx.request_cancel()  # the attempt's outcome is then "cancelled"
    return BatchStopped(message)
