"""Where a job's ``ctx.progress`` goes: straight to its run's row, as a hint."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rota.runs import Run
from rota.storage.base import ProgressParams, RunStore
from rota.worker.storable import storable_text

log = logging.getLogger("rota.worker")


def progress_sink(store: RunStore, run: Run) -> Callable[[dict[str, Any]], None]:
    """Record the attempt's progress; a failure to record it is never the job's failure."""

    def sink(progress: dict[str, Any]) -> None:
        if isinstance(progress.get("message"), str):
            progress = {**progress, "message": storable_text(progress["message"])[0]}
        try:
            store.runs_progress(ProgressParams(run.id, run.attempt, progress))
        except Exception as exc:
            log.debug("progress of run %s not recorded: %s", run.id, exc)

    return sink
