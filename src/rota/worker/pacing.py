"""How many runs a worker claims per cycle: free slots, plus a claim-ahead sized by measure."""

from __future__ import annotations

import math


class Pacer:
    """Moving averages of attempt durations and round trips, and the claim size they imply.

    When runs are much shorter than a round trip, claiming ahead keeps the slots busy between
    cycles (job threads take the next claimed run themselves). When runs are longer, the
    claim-ahead falls to zero: a run never waits behind a slow one while another node could
    take it.
    """

    def __init__(self, concurrency: int, max_prefetch: int) -> None:
        self.concurrency = concurrency
        self.max_prefetch = max_prefetch
        self.avg_run: float | None = None
        self.avg_rtt: float | None = None

    @staticmethod
    def _mix(avg: float | None, sample: float) -> float:
        return sample if avg is None else 0.8 * avg + 0.2 * sample

    def ran(self, seconds: float) -> None:
        self.avg_run = self._mix(self.avg_run, seconds)

    def round_trip(self, seconds: float) -> None:
        self.avg_rtt = self._mix(self.avg_rtt, seconds)

    def claim_limit(self, held: int) -> int:
        """How many runs to claim, given ``held`` runs in flight or claimed ahead."""
        ahead = 0
        if self.avg_run is not None and self.avg_rtt is not None:
            per_slot = self.avg_rtt / max(self.avg_run, 1e-6)
            ahead = min(self.max_prefetch, math.floor(self.concurrency * per_slot))
        return max(0, self.concurrency - held + ahead)
