"""``launch --wait``: poll a run until it ends, showing its progress on stderr.

A ``rich`` progress bar when stderr is a terminal and rich is installed, plain lines otherwise.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Protocol

from rota.app import App
from rota.cli.output import note
from rota.errors import StorageUnavailable
from rota.runs import Run, RunState

HINT_AFTER = 5.0  # seconds still queued before suggesting that no worker is running


class Reporter(Protocol):
    def __enter__(self) -> Reporter: ...
    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    def update(self, run: Run) -> None: ...


def describe_progress(run: Run, *, count: bool = True) -> str:
    """``running 850/1000 step load (2/3)``: each fact once (``count=False`` where a progress
    bar shows the count beside this text)."""
    p = run.progress or {}
    done, total, message = p.get("done"), p.get("total"), p.get("message")
    parts = [run.state.value]
    if count and done is not None:
        parts.append(f"{_num(done)}/{_num(total)}" if total is not None else _num(done))
    if message:
        parts.append(str(message))
    if run.state is RunState.RETRYING or (run.attempt > 1 and not run.state.terminal):
        parts.append(f"(attempt {run.attempt}/{run.max_attempts})")
    return " ".join(parts)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class LineReporter:
    """One stderr line each time the state or progress changes."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.last = ""

    def __enter__(self) -> LineReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, run: Run) -> None:
        text = describe_progress(run)
        if text != self.last:
            note(f"run {self.run_id}: {text}")
            self.last = text


class RichReporter:
    """A live progress bar; indeterminate until the job reports a total."""

    def __init__(self, run_id: int, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn(f"run {run_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
        )
        self.task = self.progress.add_task("waiting", total=None)

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, run: Run) -> None:
        p = run.progress or {}
        done, total = p.get("done"), p.get("total")
        if run.state is RunState.SUCCEEDED and total is None:
            total = done = 1
        self.progress.update(
            self.task,
            completed=float(done or 0),
            total=float(total) if isinstance(total, int | float) else None,
            description=describe_progress(run, count=False),
        )


def reporter_for(run_id: int) -> Reporter:
    if sys.stderr.isatty():
        try:
            return RichReporter(run_id)
        except ImportError:
            pass
    return LineReporter(run_id)


def wait_for_run(app: App, run_id: int, poll: float = 0.05, max_poll: float = 0.5) -> Run:
    """Poll until the run is terminal; database hiccups while waiting are waited out."""
    started = time.monotonic()
    hinted = False
    with reporter_for(run_id) as reporter:
        while True:
            try:
                run = app.runs.get(run_id)
            except StorageUnavailable:
                run = None
            if run is not None:
                reporter.update(run)
                if run.state.terminal:
                    return run
                waited = time.monotonic() - started
                if not hinted and run.state is RunState.QUEUED and waited > HINT_AFTER:
                    note(f"run {run_id} is still queued: is a worker running? (rota worker)")
                    hinted = True
            time.sleep(poll)
            poll = min(max_poll, poll * 1.5)
