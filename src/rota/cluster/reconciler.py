"""The reconciler: stored states that time or another row's end made stale are brought in
line (due scheduled and retrying runs shown as ``queued``; batch executions whose run ended)."""

from __future__ import annotations

import logging

from rota.clock import Clock, SystemClock
from rota.storage.base import Store

log = logging.getLogger("rota.maintenance")


class Reconciler:
    name = "reconciler"

    def __init__(self, store: Store, interval: float, clock: Clock | None = None) -> None:
        self.store, self.interval = store, interval
        self.clock = clock or SystemClock()

    def run_once(self) -> int:
        """One pass; returns how many batch executions it ended."""
        now = self.clock.now()
        self.store.runs_promote(now)
        ended = self.store.batch_reconcile(now)
        if ended:
            log.info("ended %s batch execution(s) whose run had ended", ended)
        return ended
