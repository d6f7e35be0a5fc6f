"""What a worker holds: attempts in flight, runs claimed ahead, runs to hand back.

Job threads start the next run claimed ahead themselves when theirs ends (without waiting for
the loop), so all of it sits behind one lock, taken for short, I/O-free moments only.

Runs claimed ahead are not started (``started_at`` None) until they start here; their starts
are written with the next cycle (or with their outcomes). One claimed ahead past its queue's
concurrency room also holds no place: it starts only in the place of a run of its queue that
ended here with an outcome not yet written. The place moves in memory, and the database
learns of both together: the start is written with (before) that outcome, in one
transaction, so that the queue's count of started runs never drops in between for another
node to fill. Places are good until the outcomes they come from are written: the loop takes
the starts (``take_started``) after collecting the outcomes it is about to write, which
forgets the places left.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from rota.jobs import JobSpec
from rota.runs import Run
from rota.worker.attempt import Attempt
from rota.worker.foreign import ForeignJobs

Key = tuple[int, int]
"""(run id, attempt)."""


class Holdings:
    def __init__(
        self,
        concurrency: int,
        jobs: Mapping[str, JobSpec],
        begin: Callable[[Run, JobSpec], Attempt],
        now: Callable[[], datetime],
    ) -> None:
        self.concurrency, self.jobs, self._begin, self._now = concurrency, jobs, begin, now
        self._mu = threading.Lock()
        self._inflight: dict[Key, Attempt] = {}
        self._buffer: deque[Run] = deque()  # claimed ahead, not started yet
        self._handed_back: list[Key] = []  # to release, unfinished and uncounted
        self._places: Counter[str] = Counter()  # by queue: ended here, outcome not yet written
        self._placeless: set[int] = set()  # runs claimed ahead past their queue's room
        self._started: list[tuple[Run, datetime]] = []  # runs claimed ahead that started

    @property
    def busy(self) -> int:
        return len(self._inflight)

    @property
    def held(self) -> int:
        """Runs this node holds: in flight and claimed ahead."""
        with self._mu:
            return len(self._inflight) + len(self._buffer)

    def snapshot(self) -> list[Attempt]:
        with self._mu:
            return list(self._inflight.values())

    def add_claimed(self, runs: Iterable[Run], limited: bool = False) -> None:
        """``limited``: claimed by a limited claim, whose runs not started hold no place."""
        with self._mu:
            for run in runs:
                self._buffer.append(run)
                if limited and run.started_at is None:
                    self._placeless.add(run.id)

    def start_ready(self) -> list[Attempt]:
        """Attempts for runs claimed ahead, up to free slots: the caller submits them."""
        started = []
        with self._mu:
            while len(self._inflight) < self.concurrency and (a := self._next_attempt()):
                started.append(a)
        return started

    def end(
        self,
        attempt: Attempt,
        handed_back: bool,
        report: Callable[[], None],
        follow: bool,
        reported: bool = False,
    ) -> Attempt | None:
        """Free the attempt's slot (after ``report``); with ``follow``, the next attempt.
        ``reported``: ``report`` hands the loop this attempt's outcome, whose place (until
        it is written) a run of its queue claimed ahead may take."""
        with self._mu:
            if handed_back:
                self._handed_back.append(attempt.key)
            report()  # before its slot frees: run_once must see it ended
            if self._inflight.pop(attempt.key, None) is not None and reported:
                self._places[attempt.run.queue] += 1
            free = len(self._inflight) < self.concurrency  # not while lent runs fill it
            return self._next_attempt() if follow and free else None

    def take_started(self) -> tuple[list[tuple[Run, datetime]], list[str]]:
        """Before a write: the starts of runs claimed ahead to write with the outcomes
        collected before this call, and the queues of the runs in flight (where this node
        holds places). The places left are forgotten (their outcomes are about to be
        written); runs claimed ahead without a place that none can come to (no run of their
        queue in flight here) are handed back."""
        with self._mu:
            started, self._started = self._started, []
            self._places.clear()
            busy = {a.run.queue for a in self._inflight.values()}
            back = [r for r in self._buffer if r.id in self._placeless and r.queue not in busy]
            if back:
                ids = {r.id for r in back}
                self._buffer = deque(r for r in self._buffer if r.id not in ids)
                self._placeless -= ids
                self._handed_back.extend((r.id, r.attempt) for r in back)
        return started, sorted(busy)

    def adopt(self, run: Run) -> Attempt | None:
        """An attempt for ``run``, in flight at once, past the concurrency (the caller submits
        it); None for a job this worker lacks."""
        spec = self.jobs.get(run.job)
        if spec is None:
            return None
        with self._mu:
            attempt = self._begin(run, spec)
            self._inflight[attempt.key] = attempt
        return attempt

    def holds(self, run_id: int) -> bool:
        """Whether an attempt of this run is in flight here."""
        with self._mu:
            return any(key[0] == run_id for key in self._inflight)

    def _next_attempt(self) -> Attempt | None:
        # The first run claimed ahead that may start: one with its place, or one without in
        # the place of a run of its queue that ended here. A run of a job this worker lacks
        # (claimed by id, say) is handed back, unattempted.
        for run in self._buffer:
            placeless = run.id in self._placeless
            if placeless and self._places[run.queue] <= 0:
                continue
            self._buffer.remove(run)
            spec = self.jobs.get(run.job)
            if spec is None:
                ForeignJobs.handing_back(run)
                self._handed_back.append((run.id, run.attempt))
                return self._next_attempt()
            if placeless:
                self._places[run.queue] -= 1
                self._placeless.discard(run.id)
            if run.started_at is None:
                self._started.append((run, self._now()))
            attempt = self._begin(run, spec)
            self._inflight[attempt.key] = attempt
            return attempt
        return None

    def to_renew(self) -> list[int]:
        """The runs whose leases the next heartbeat extends."""
        with self._mu:
            ids = [a.run.id for a in self._inflight.values() if not a.settled]
            return ids + [r.id for r in self._buffer]

    def drop_buffered(self, ids: set[int]) -> list[Run]:
        """Take these runs out of those claimed ahead (cancelled before they started)."""
        with self._mu:
            dropped = [r for r in self._buffer if r.id in ids]
            for run in dropped:
                self._buffer.remove(run)
            self._placeless -= ids
        return dropped

    def buffered_queues(self) -> set[str]:
        """The queues of the runs claimed ahead (empty when none waits)."""
        with self._mu:
            return {r.queue for r in self._buffer}

    def hand_back_queues(self, queues: set[str]) -> list[Run]:
        """Take the runs of ``queues`` out of those claimed ahead, to hand back unattempted
        (their queue was paused before they started)."""
        with self._mu:
            back = [r for r in self._buffer if r.queue in queues]
            if back:
                self._buffer = deque(r for r in self._buffer if r.queue not in queues)
                self._placeless -= {r.id for r in back}
                self._handed_back.extend((r.id, r.attempt) for r in back)
        return back

    def take_buffered(self) -> list[Key]:
        with self._mu:
            held = [(r.id, r.attempt) for r in self._buffer]
            self._buffer.clear()
            self._placeless.clear()
        return held

    def take_handed_back(self) -> list[Key]:
        with self._mu:
            runs, self._handed_back = self._handed_back, []
        return runs

    def put_back_handed_back(self, runs: list[Key]) -> None:
        with self._mu:
            self._handed_back[:0] = runs

    def clear(self) -> None:
        with self._mu:
            self._inflight.clear()
