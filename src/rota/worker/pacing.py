"""How many runs a worker claims per cycle, and whether a cycle's claim can bring anything."""

from __future__ import annotations

import math


class Pacer:
    """Moving averages of attempt durations and round trips, and the claim size they imply.

    When runs are much shorter than a round trip, claiming ahead keeps the slots busy between
    cycles (job threads take the next claimed run themselves). When runs are longer, the
    claim-ahead falls to zero: a run never waits behind a slow one while another node could
    take it.

    Under limits, a claim that came back short says about what the limits let through: the
    next limited claim asks beyond the free slots for at most twice that (or the concurrency),
    since a limited claim reads about twice as many candidates as it asks for; a claim filled
    lifts the bound.

    A claim that came back short found nothing more of the worker's: claiming again before
    anything changed (an outcome to write, a slot freed, a notification, the poll) would
    read the same. A job thread that wakes the loop as it ends races the cycle that already
    took its outcome; such wake-ups claim nothing.
    """

    def __init__(self, concurrency: int, max_prefetch: int) -> None:
        self.concurrency = concurrency
        self.max_prefetch = max_prefetch
        self.avg_run: float | None = None
        self.avg_rtt: float | None = None
        self._bounded: int | None = None
        """Runs the last limited claim got when it came back short."""
        self._short_at: int | None = None
        """Runs held after the last claim, when it came back short."""
        self._news = True

    @staticmethod
    def _mix(avg: float | None, sample: float) -> float:
        return sample if avg is None else 0.8 * avg + 0.2 * sample

    def ran(self, seconds: float) -> None:
        self.avg_run = self._mix(self.avg_run, seconds)

    def round_trip(self, seconds: float) -> None:
        self.avg_rtt = self._mix(self.avg_rtt, seconds)

    def claim_limit(self, held: int, limited: bool = False) -> int:
        """How many runs to claim, given ``held`` runs in flight or claimed ahead; ``limited``
        for a claim under limits."""
        ahead = 0
        if self.avg_run is not None and self.avg_rtt is not None:
            per_slot = self.avg_rtt / max(self.avg_run, 1e-6)
            ahead = min(self.max_prefetch, math.floor(self.concurrency * per_slot))
        if limited and self._bounded is not None:
            ahead = min(ahead, max(self.concurrency, 2 * self._bounded))
        # the runs already claimed ahead count: a node holds at most its slots and ``ahead``
        return max(0, self.concurrency + ahead - held)

    def news(self) -> None:
        """Something outside may have made runs claimable (a notification, a wake-up asked)."""
        self._news = True

    def claimed(self, asked: int, got: int, held: int, limited: bool) -> None:
        """A claim asked for ``asked`` runs and got ``got``; ``held`` runs are held after it."""
        short = got < asked
        self._bounded = got if limited and short else None
        self._short_at = held if short else None

    def worth_claiming(self, held: int, pending: bool, poll_due: bool) -> bool:
        """False when the last claim came back short and nothing changed since: no outcome
        ``pending`` to write, no slot freed, no news, the poll not due. Clears the news."""
        last = self._short_at
        if last is not None and held >= last and not (pending or poll_due or self._news):
            return False
        self._news = False
        return True
