"""``app.runs``: the run use cases bound to an app's store and clock."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rota.clock import Clock
from rota.runs import Run, RunState
from rota.runs_summary import RunsSummary
from rota.storage.base import Store
from rota.usecases import runs

Enqueue = Callable[..., Any]
"""``App.enqueue``: launch a job by name, returning its ``RunHandle``."""


class Runs:
    """Runs of an app: look them up, cancel, retry, delete, purge, or run one here now."""

    def __init__(
        self,
        store: Callable[[], Store],
        clock: Clock,
        enqueue: Enqueue,
        run_here: Callable[[int], None],
    ) -> None:
        self._store = store
        self._clock = clock
        self._enqueue = enqueue
        self._run_here = run_here

    def get(self, run_id: int) -> Run:
        """The run as stored now; ``RunNotFound`` if there is none."""
        return runs.get(self._store(), run_id)

    def list(
        self,
        *,
        states: Sequence[RunState] = (),
        job: str | None = None,
        queue: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        search: str | None = None,
    ) -> builtins.list[Run]:
        """Runs, newest first, ``limit`` at a time (``before_id`` continues a page);
        ``search``: only runs whose arguments (as JSON text) contain it, ignoring case, among
        the ``rota.limits.SEARCH_SCOPE`` ids below ``before_id`` (see ``search_floor``)."""
        return runs.list_runs(
            self._store(),
            states=states,
            job=job,
            queue=queue,
            limit=limit,
            before_id=before_id,
            created_after=created_after,
            created_before=created_before,
            search=search,
        )

    def running_per_node(self) -> dict[str, int]:
        """How many runs each node has ``running`` (nodes without any are left out)."""
        return runs.running_per_node(self._store())

    def search_floor(self, before_id: int | None = None) -> int | None:
        """The lowest run id a search below ``before_id`` reads (``list(search=...)`` reads
        ``rota.limits.SEARCH_SCOPE`` ids at most), or None when it reaches the first run: a
        page of a search that came back short goes on below this id, as its next cursor."""
        return runs.search_floor(self._store(), before_id)

    def summary(self, window: timedelta = timedelta(hours=1)) -> RunsSummary:
        """Runs per state and queue (each up to ``count_cap``), runs ended per minute over the
        last ``window``, and when each queue's oldest queued run was due."""
        return runs.summary(self._store(), self._clock.now(), window)

    def cancel(self, run_id: int) -> RunState:
        """Cancel a waiting run at once, ask a running one to stop; the state it is in now."""
        return runs.cancel(self._store(), [run_id], self._clock.now())[run_id]

    def cancel_many(self, run_ids: Sequence[int]) -> dict[int, RunState]:
        return runs.cancel(self._store(), run_ids, self._clock.now())

    def retry(self, run_ids: Sequence[int]) -> builtins.list[int]:
        """Put failed or cancelled runs back to ``queued``; the ids of those that were."""
        return runs.retry(self._store(), run_ids, self._clock.now())

    def retry_where(
        self, state: RunState | str, *, job: str | None = None, queue: str | None = None
    ) -> int:
        """Retry every ``failed`` (or ``cancelled``) run, of ``job``, in ``queue``; how many."""
        return runs.retry_where(
            self._store(), RunState(state), self._clock.now(), job=job, queue=queue
        )

    def delete(self, run_id: int) -> bool:
        """Delete an ended run; False (nothing done) if it has not ended, or is a workflow step
        that a step after it, not succeeded yet, may still need."""
        return runs.delete(self._store(), run_id)

    def purge(self, states: Sequence[RunState], older_than: timedelta | None = None) -> int:
        """Delete ended runs in ``states`` that finished more than ``older_than`` ago."""
        return runs.purge(self._store(), states, older_than, self._clock.now())

    def exec(self, job: str, args: Mapping[str, Any] | None = None, **options: Any) -> Run:
        """Run ``job`` now in this process, recorded as a run (one attempt unless told)."""
        options.setdefault("max_attempts", 1)
        handle = self._enqueue(job, args, **options)
        self._run_here(handle.id)
        return self.get(handle.id)
