"""A queue as operators see it: its stored settings and its counts (pure: no I/O).

Queues are created by use: a queue exists while it has runs or a stored row (made the first
time it is paused, resumed or given limits). ``app.queues`` lists, pauses, resumes and sets
limits (``rota.usecases.queues``); the claim enforces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    paused: bool
    """No node starts a new run from a paused queue; running runs finish."""
    concurrency: int | None
    """At most this many of its runs ``running`` at once, cluster-wide; None: no limit."""
    rate_limit: int | None
    """At most this many starts per ``rate_period`` seconds, cluster-wide; None: no limit."""
    rate_period: float | None
    queued: int
    """Its runs in state ``queued``, counted up to ``count_cap``."""
    running: int
    """Its runs in state ``running`` (started, or claimed ahead by a worker), up to the cap."""
    oldest_due: datetime | None
    """When its oldest queued run was due (created, or its run_at if later); None: none."""
    count_cap: int
    """A count equal to it means at least that many (counts stay cheap on big tables)."""

    @property
    def rate(self) -> tuple[int, float] | None:
        """``(limit, period seconds)``, as ``app.queues.set(rate_limit=...)`` takes it."""
        if self.rate_limit is None or self.rate_period is None:
            return None
        return self.rate_limit, self.rate_period

    def to_json(self) -> dict[str, Any]:
        rate = self.rate
        return {
            "name": self.name,
            "paused": self.paused,
            "concurrency": self.concurrency,
            "rate_limit": None if rate is None else {"limit": rate[0], "period": rate[1]},
            "queued": self.queued,
            "running": self.running,
            "oldest_queued_at": None if self.oldest_due is None else self.oldest_due.isoformat(),
            "count_cap": self.count_cap,
        }
