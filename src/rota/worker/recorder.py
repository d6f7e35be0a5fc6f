"""Outcomes decided but not yet written: kept across outages, written with the next claim.

One outcome the database refuses for its content (a bug that let unstorable text through)
must not block the others, nor pass for a database outage: when a write fails for any other
reason than StorageUnavailable, the outcomes are written one by one, and the one refused is
replaced by a plain failed outcome saying why, so the worker goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from rota.errors import StorageUnavailable
from rota.outage import Outage, ride_out
from rota.runs import ErrorEntry, Event, RunState, decide
from rota.storage.base import (
    ClaimParams,
    ClaimResult,
    FinishParams,
    Outcome,
    RunStore,
    Started,
)
from rota.worker.storable import error_entry

log = logging.getLogger("rota.worker")


class Recorder:
    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.pending: list[Outcome] = []  # only the worker's loop thread touches it
        self.started: list[Started] = []  # written first, in the same transaction

    def add(self, o: Outcome) -> None:
        self.pending.append(o)

    def add_started(self, started: list[Started]) -> None:
        """Starts of runs claimed ahead: one whose outcome waits here goes with it (one write
        of the row), the others are written on their own, before the outcomes."""
        if not started:
            return
        at = {(s.run_id, s.attempt): s.at for s in started}
        for i, o in enumerate(self.pending):
            when = at.pop((o.run_id, o.attempt), None)
            if when is not None:
                self.pending[i] = o._replace(started_at=when)
        self.started.extend(s for s in started if (s.run_id, s.attempt) in at)

    def claim(self, params: ClaimParams) -> ClaimResult:
        """Write the pending outcomes and claim (``params.finish`` is ignored)."""
        finish, started = tuple(self.pending), tuple(self.started)
        try:
            params = dataclasses.replace(params, finish=finish, started=started)
            result = self.store.runs_claim(params)
            self.pending.clear()
            self.started.clear()
        except StorageUnavailable:
            raise
        except Exception:
            if not finish:
                raise
            log.exception(
                "writing %d outcome(s) failed, not for an outage: writing them one by one",
                len(finish),
            )
            if started:  # the starts before the outcomes, as always (ClaimParams.started)
                self.store.runs_claim(dataclasses.replace(params, finish=(), limit=0))
                self.started.clear()
            refused = self._one_by_one()
            result = self.store.runs_claim(dataclasses.replace(params, finish=(), started=()))
            result = ClaimResult(result.claimed, refused + result.refused, result.queue_limits)
        for o in result.refused:
            log.warning(
                "run %s attempt %s: outcome %r refused: this node no longer holds the attempt "
                "(its lease expired and the run was rescued)",
                o.run_id,
                o.attempt,
                o.state.value,
            )
        return result

    def _one_by_one(self) -> list[Outcome]:
        refused: list[Outcome] = []
        while self.pending:  # an outage stops here; the rest stays pending
            refused += self._write_alone(self.pending[0])
            self.pending.pop(0)
        return refused

    def _write_alone(self, o: Outcome) -> list[Outcome]:
        try:
            return self.store.runs_finish(FinishParams([o]))
        except StorageUnavailable:
            raise
        except Exception as exc:
            log.error(
                "run %s: its outcome cannot be stored (%r); recording a failure", o.run_id, exc
            )
            stand_in = stand_in_outcome(o, exc)
        try:
            return self.store.runs_finish(FinishParams([stand_in]))
        except StorageUnavailable:
            raise
        except Exception:
            log.exception(
                "run %s: not even its stand-in outcome could be stored; the run will be rescued "
                "when its lease expires",
                o.run_id,
            )
            return []


def stand_in_outcome(o: Outcome, exc: Exception) -> Outcome:
    """``o`` without what could not be stored: a failure (a retry stays a retry) saying why."""
    note = f"rota could not store this attempt's {o.state.value} outcome"
    try:
        entry = error_entry(o.attempt, exc, o.ended_at, note=note)
    except Exception:
        entry = ErrorEntry(o.attempt, "RotaError", note, "", o.ended_at)
    if o.state not in (RunState.RETRYING, RunState.CANCELLED, RunState.SCHEDULED):
        then = decide(
            RunState.RUNNING, Event.DISCARD, attempt=o.attempt, max_attempts=None, now=o.ended_at
        )
        o = o._replace(then=then)
    return o._replace(
        then=o.then._replace(error=entry),
        if_cancelled=o.if_cancelled._replace(error=entry),
        result=None,
    )


def write_until(write: Callable[[], object], deadline: float, outage: Outage) -> None:
    """Retry a write of a stopping worker until it succeeds or ``deadline`` (monotonic).

    Any error is retried, not only an outage: a stopping worker has no later chance to write.
    """
    try:
        ride_out(write, outage, until=deadline, retry=lambda _exc: True)
    except Exception as exc:
        log.error("shutdown: giving up a write the database refused: %s", exc)
