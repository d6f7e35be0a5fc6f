"""``app.queues``: the queue use cases bound to an app's store and clock."""

from __future__ import annotations

import builtins
from collections.abc import Callable

from rota.clock import Clock
from rota.limits import MAX_PAGE
from rota.queues import Queue
from rota.storage.base import Store
from rota.usecases import queues
from rota.usecases.queues import UNCHANGED, Rate, Unchanged


class Queues:
    """The queues of an app's database: list them, pause, resume, and limit them.

    Pause, resume and limits are stored, so they hold across every node sharing the database
    and survive restarts. ``wake`` tells this process's workers at once (other processes
    learn it from the database's notification, or their next poll).
    """

    def __init__(self, store: Callable[[], Store], clock: Clock, wake: Callable[[], None]) -> None:
        self._store = store
        self._clock = clock
        self._wake = wake

    def list(self, limit: int = MAX_PAGE, after: str | None = None) -> builtins.list[Queue]:
        """Queues with runs or stored settings, by name (``after``: the next page)."""
        return queues.list_queues(self._store(), limit, after)

    def get(self, name: str) -> Queue:
        return queues.get(self._store(), name)

    def paused(self, names: builtins.list[str]) -> set[str]:
        """Which of ``names`` are paused."""
        return queues.paused(self._store(), names)

    def pause(self, name: str) -> Queue:
        """No node starts a new run from the queue (within a second); running runs finish."""
        paused = queues.set_paused(self._store(), name, True, self._clock.now())
        self._wake()
        return paused

    def resume(self, name: str) -> Queue:
        resumed = queues.set_paused(self._store(), name, False, self._clock.now())
        self._wake()
        return resumed

    def set(
        self,
        name: str,
        concurrency: int | Unchanged | None = UNCHANGED,
        rate_limit: Rate | Unchanged | None = UNCHANGED,
    ) -> Queue:
        """Set the queue's cluster-wide limits: ``concurrency=N`` (at most N running at once),
        ``rate_limit=(N, seconds)`` (at most N starts per that many seconds); None removes a
        limit, and a limit not given stays as it is."""
        changed = queues.set_limits(self._store(), name, self._clock.now(), concurrency, rate_limit)
        self._wake()
        return changed
