"""Attempts past their deadline: decided failed at once, though their thread runs on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

from rota.runs import Outcome
from rota.worker import runlog
from rota.worker.attempt import Attempt, timeout_outcome
from rota.worker.stats import STATS


def settle_timeouts(
    attempts: Iterable[Attempt],
    node_id: str,
    now: Callable[[], datetime],
    record: Callable[[Outcome], None],
) -> None:
    """Fail each attempt whose deadline passed (``JobTimeout``) and ask it to stop.

    A thread cannot be killed: the attempt is failed now, the job asked to stop through
    ``ctx.cancelled``, and its slot stays busy until the thread really returns.
    """
    mono = time.monotonic()
    for a in attempts:
        if a.deadline is not None and not a.settled and mono >= a.deadline:
            a.settled = True
            a.ctx.request_cancel()
            o = timeout_outcome(a, node_id, now())
            record(o)
            STATS.ended(a.run, o.state, mono - a.started)
            runlog.ended(a, o, mono - a.started)
