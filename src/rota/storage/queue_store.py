"""The queues part of the storage seam: the rows operators store for a queue (pause, limits),
and the listing of every queue in use with its counts.

A queue is created by use: it exists while it has runs or a stored row. A row is written the
first time a queue is paused, resumed or given limits, and never deleted (a resumed queue
without limits behaves as one without a row). Every claim leaves the runs of a paused queue
where they are (``rota_queues.paused``); ``rota exec`` of one given run does not (see
``ClaimParams.run_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rota.queues import Queue


@dataclass(frozen=True, slots=True)
class QueueListParams:
    """Queues in name order after ``after`` (a cursor; None: from the first), ``limit`` of
    them, each count up to ``cap`` (a count of ``cap`` means at least that many)."""

    limit: int
    cap: int
    after: str | None = None


@dataclass(frozen=True, slots=True)
class QueuePauseParams:
    name: str
    paused: bool
    now: datetime


@dataclass(frozen=True, slots=True)
class QueueLimitsParams:
    """Set a queue's limits, creating its row if needed. A part whose ``set_*`` is False is
    left as stored (a new row gets no limit for it)."""

    name: str
    now: datetime
    set_concurrency: bool = False
    concurrency: int | None = None
    set_rate: bool = False
    rate_limit: int | None = None
    rate_period: float | None = None


class QueueStore(Protocol):
    def queues_list(self, params: QueueListParams) -> list[Queue]:
        """The queues that have runs (any state) or a stored row, by name; the cost follows
        the queues listed and the cap, not the runs in the table."""
        ...

    def queue_get(self, name: str, cap: int) -> Queue:
        """One queue as listed (defaults and zero counts for a queue never used)."""
        ...

    def queue_set_paused(self, params: QueuePauseParams) -> None:
        """Pause or resume (creating the row); wakes the queue's workers (PostgreSQL NOTIFY,
        SQLite's data version) so that they take the change into account at once."""
        ...

    def queue_set_limits(self, params: QueueLimitsParams) -> None:
        """Upsert the queue's limits (see ``QueueLimitsParams``); wakes its workers too."""
        ...

    def queues_paused(self, names: Sequence[str]) -> list[str]:
        """Which of ``names`` are paused now (for a worker holding runs claimed ahead)."""
        ...
