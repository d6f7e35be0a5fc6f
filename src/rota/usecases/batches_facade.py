"""``app.batches``: the batch execution use cases bound to an app's store and clock."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence

from rota.batch.model import BatchExecution, BatchState
from rota.clock import Clock
from rota.storage.base import Store
from rota.usecases import Launch, batches
from rota.usecases.inputs import check_id


class Batches:
    """Executions of an app's batch jobs: look them up, restart, stop, abandon."""

    def __init__(self, store: Callable[[], Store], clock: Clock, launch: Launch) -> None:
        self._store = store
        self._clock = clock
        self._launch = launch

    def list(
        self,
        *,
        job: str | None = None,
        states: Sequence[BatchState | str] = (),
        limit: int = 50,
        before_id: int | None = None,
    ) -> builtins.list[BatchExecution]:
        """Executions, newest first."""
        wanted = tuple(BatchState(s) for s in states)
        return batches.list_executions(
            self._store(), job=job, states=wanted, limit=limit, before_id=before_id
        )

    def get(self, execution_id: int) -> BatchExecution:
        """The execution with its steps; ``ExecutionNotFound`` if there is none."""
        return batches.get(self._store(), execution_id)

    def for_run(self, run_id: int) -> BatchExecution | None:
        """The execution a batch job's run carries, if it has started one."""
        return self._store().batch_for_run(check_id(run_id))

    def restart(self, execution_id: int) -> BatchExecution:
        """Restart a failed or stopped execution as a new execution of its instance."""
        return batches.restart(self._store(), execution_id, self._launch)

    def stop(self, execution_id: int) -> BatchExecution:
        """Stop at the next chunk boundary (state ``stopping``, then ``stopped``)."""
        return batches.stop(self._store(), execution_id, self._clock.now())

    def abandon(self, execution_id: int) -> BatchExecution:
        """Mark a failed or stopped execution (and so its instance) never to be restarted."""
        return batches.abandon(self._store(), execution_id, self._clock.now())
