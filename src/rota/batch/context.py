"""What a step sees while it runs: its checkpoint state, its job's arguments, its partition."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from rota.context import Context


class StepContext:
    """Passed to tasklets, readers and (through ``open``/``update``) to item streams.

    ``state`` is a JSON dict committed together with each chunk's progress: whatever a step
    puts there is what it finds again when a failed or stopped execution is restarted.
    """

    def __init__(
        self,
        *,
        execution_id: int,
        step: str,
        job: str,
        args: dict[str, Any],
        state: dict[str, Any] | None = None,
        partition: dict[str, Any] | None = None,
        run: Context | None = None,
        restarted: bool = False,
    ) -> None:
        self.execution_id = execution_id
        self.step = step
        self.job = job
        self.args = args
        self.state: dict[str, Any] = dict(state or {})
        self.partition = partition
        self.run = run
        self.restarted = restarted
        """True when this step resumes a checkpoint of an earlier (failed or stopped) attempt."""
        self.logger = logging.getLogger(f"rota.batch.{job}.{step}")

    @property
    def shutting_down(self) -> bool:
        """True once this node is shutting down: a long tasklet may raise
        ``rota.errors.HandBack`` to have its run resumed elsewhere (it runs again there)."""
        return self.run is not None and self.run.shutting_down

    @property
    def stopping(self) -> bool:
        """True once the run was asked to cancel; the step stops at its next chunk boundary."""
        run = self.run
        return run is not None and run.cancelled and not run.shutting_down

    def __repr__(self) -> str:
        part = f" partition={self.partition}" if self.partition is not None else ""
        return f"<rota.batch.StepContext execution={self.execution_id} step={self.step}{part}>"


class ItemStream(Protocol):
    """Optional hooks of a reader or writer object, in the manner of Spring Batch's ItemStream.

    ``open`` is called once when the step starts (``ctx.state`` holds the last checkpoint on a
    restart), ``update`` just before each chunk commit (store your position in ``ctx.state``),
    ``close`` when the step ends, however it ends.
    """

    def open(self, ctx: StepContext) -> None: ...
    def update(self, ctx: StepContext) -> None: ...
    def close(self) -> None: ...


class TransactionalWriter(Protocol):
    """A writer that writes into rota's own database inside the chunk's commit transaction.

    ``write_in(connection, items)`` gets the open DB-API connection (sqlite3 or psycopg) of
    that transaction: the items and the checkpoint commit together, so each item is written
    exactly once even if the process dies at any moment.
    """

    def write_in(self, connection: Any, items: list[Any]) -> None: ...
