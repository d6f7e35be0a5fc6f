"""Runs of jobs this worker does not define (a rolling deploy, a renamed job).

The claim leaves them queued for a worker that has them. So that they are not forgotten, a
worker with nothing more to claim looks, at most once a minute and over a bounded number of
runs, which unknown jobs have runs waiting, and warns once per job name for its lifetime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from rota.runs import Run
from rota.storage.base import ForeignParams, RunStore

log = logging.getLogger("rota.worker")

LOOK_EVERY = 60.0
"""Seconds between two looks for runs of unknown jobs."""


class ForeignJobs:
    def __init__(self, store: RunStore, queues: Sequence[str] | None) -> None:
        self.store, self.queues = store, queues
        self._warned: set[str] = set()
        self._next_look = 0.0

    def look(self, jobs: Sequence[str], now: datetime) -> None:
        """Warn about jobs not in ``jobs`` with due runs waiting (throttled: call when idle)."""
        mono = time.monotonic()
        if mono < self._next_look:
            return
        self._next_look = mono + LOOK_EVERY
        for name in self.store.runs_foreign_jobs(ForeignParams(jobs, self.queues, now)):
            if name not in self._warned:
                self._warned.add(name)
                log.warning(
                    "runs of job %r are waiting, but that job is not defined in this worker's "
                    "app: they stay queued for a worker that defines it",
                    name,
                )

    @staticmethod
    def handing_back(run: Run) -> None:
        log.warning(
            "run %s: job %r is not defined in this worker's app; handing the run back to "
            "the queue (no attempt used)",
            run.id,
            run.job,
        )
