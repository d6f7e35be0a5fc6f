"""What a running job may see and tell: its run, progress, and whether it was cancelled."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

ProgressSink = Callable[[dict[str, Any]], None]


class LocalWorker(Protocol):
    """The worker executing a run, as a job that waits on runs it launched sees it (a
    partitioned batch step): it may have this worker run one of them when no other takes it."""

    def run_here(self, run_id: int) -> bool:
        """Claim the run and execute it as any run of this worker; False if not taken."""
        ...

    def running_here(self, run_id: int) -> bool:
        """Whether an attempt of the run still executes on this worker."""
        ...


class Context:
    """Passed to a job parameter annotated ``rota.Context``."""

    def __init__(
        self,
        run_id: int,
        attempt: int,
        job_name: str,
        *,
        progress_sink: ProgressSink | None = None,
        logger: logging.Logger | None = None,
        node_id: str | None = None,
        local_worker: LocalWorker | None = None,
    ) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.job_name = job_name
        self.node_id = node_id
        """The node executing the run (None outside a worker)."""
        self.local_worker = local_worker
        """The worker executing the run (None outside a worker)."""
        self.logger = logger or logging.getLogger(f"rota.job.{job_name}")
        self._sink = progress_sink
        self._cancelled = threading.Event()
        self._shutdown = False
        self.last_progress: dict[str, Any] | None = None

    @property
    def cancelled(self) -> bool:
        """True once cancellation of this run was requested (or its timeout passed)."""
        return self._cancelled.is_set()

    @property
    def shutting_down(self) -> bool:
        """True once the node is shutting down: a cancel then means "hand the run back", not
        "cancel the run" (a batch step keeps its execution going on another node)."""
        return self._shutdown

    def begin_shutdown(self) -> None:
        """The node is shutting down: a job that can resume elsewhere may hand its run back
        (``rota.errors.HandBack``); others simply finish within the shutdown timeout."""
        self._shutdown = True

    def request_cancel(self, *, shutdown: bool = False) -> None:
        """Set ``cancelled`` (the worker calls it; ``shutdown``: the node is stopping)."""
        self._shutdown = self._shutdown or shutdown
        self._cancelled.set()

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Record how far the job is; shown by ``rota launch --wait``, the CLI and the API."""
        value: dict[str, Any] = {"done": done, "total": total, "message": message}
        self.last_progress = value
        if self._sink is not None:
            self._sink(value)

    def __repr__(self) -> str:
        return f"<rota.Context run={self.run_id} attempt={self.attempt} job={self.job_name}>"
