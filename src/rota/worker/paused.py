"""The worker's look-out for paused queues: runs it claimed ahead of free slots (shown
``running``) must not start once their queue is paused, so they are handed back unattempted.

A pause wakes the worker (PostgreSQL NOTIFY, SQLite's data version); while runs wait claimed
ahead, a look every ``PAUSE_LOOK`` seconds also covers a lost wake-up and a claim that raced
the pause. Every claim query leaves a paused queue's runs alone, so only these few need it.
"""

from __future__ import annotations

import logging
import time

from rota.storage.queue_store import QueueStore
from rota.worker.holdings import Holdings

log = logging.getLogger("rota.worker")
PAUSE_LOOK = 0.25
"""Seconds between looks while runs wait claimed ahead: a paused queue starts no run later
than about this, plus a round trip."""


class PausedLookout:
    def __init__(self, store: QueueStore, held: Holdings) -> None:
        self.store, self.held = store, held
        self._look_at = 0.0

    def next_look(self) -> float | None:
        """When the loop should look next (monotonic), or None while no run waits."""
        return self._look_at if self.held.buffered_queues() else None

    def hand_back_paused(self) -> None:
        """Move the runs claimed ahead whose queue is paused now to those to hand back."""
        queues = self.held.buffered_queues()
        now = time.monotonic()
        if not queues or now < self._look_at:
            return
        self._look_at = now + PAUSE_LOOK
        paused = self.store.queues_paused(sorted(queues))
        back = self.held.hand_back_queues(set(paused)) if paused else []
        if back:
            log.info(
                "queue(s) %s paused: handing back %d run(s) claimed ahead, not started",
                ", ".join(paused),
                len(back),
            )
