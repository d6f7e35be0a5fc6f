"""Queue use cases: list, pause, resume, and set a queue's limits.

Every launcher reaches them through ``app.queues`` (``rota.usecases.queues_facade``). Each
checks its input against ``rota.limits`` first: a refused call stores nothing.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from datetime import datetime

from rota.errors import InvalidInput
from rota.jobs import text_problem
from rota.limits import MAX_LIMIT, MAX_NAME, MAX_PAGE, MAX_RATE_PERIOD, quote
from rota.queues import Queue
from rota.runs_summary import COUNT_CAP
from rota.storage.queue_store import (
    QueueLimitsParams,
    QueueListParams,
    QueuePauseParams,
    QueueStore,
)
from rota.usecases.inputs import check_page


class Unchanged(enum.Enum):
    """A limit left as it is stored (``app.queues.set`` without that argument)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED
Rate = tuple[int, float]


def check_name(name: object) -> str:
    """A queue's name: text of 1 to MAX_NAME characters, storable as it is."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"queue must be a name of 1 to {MAX_NAME} characters, got {quote(name)}")
    problem = text_problem(name)
    if problem:
        raise InvalidInput(f"queue name: {problem}")
    return name


def check_concurrency(value: object) -> int | None:
    """At most N runs of the queue running at once: 1 to MAX_LIMIT, or None for no limit."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(
            f"concurrency must be a whole number from 1 to {MAX_LIMIT} (or none), "
            f"got {quote(value)}"
        )
    return value


def check_rate(value: object) -> Rate | None:
    """``(N, seconds)``: at most N starts per that many seconds; None for no rate limit."""
    if value is None:
        return None
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise InvalidInput(f"rate_limit must be (N, seconds) or None, got {quote(value)}")
    limit, period = value
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"rate_limit's N must be a whole number from 1 to {MAX_LIMIT}, got {quote(limit)}"
        )
    if isinstance(period, bool) or not isinstance(period, int | float):
        raise InvalidInput(f"rate_limit's period must be seconds, got {quote(period)}")
    if not (math.isfinite(period) and 0 < period <= MAX_RATE_PERIOD):
        raise InvalidInput(
            f"rate_limit's period must be more than 0 and at most {MAX_RATE_PERIOD} seconds "
            f"(31 days), got {quote(period)}"
        )
    return limit, float(period)


def list_queues(store: QueueStore, limit: int = MAX_PAGE, after: str | None = None) -> list[Queue]:
    """Queues with runs or stored settings, by name, ``limit`` of them after ``after``."""
    params = QueueListParams(
        check_page(limit), COUNT_CAP, None if after is None else check_name(after)
    )
    return store.queues_list(params)


def get(store: QueueStore, name: str) -> Queue:
    """A queue as listed (a name never used reads as an empty queue without settings)."""
    return store.queue_get(check_name(name), COUNT_CAP)


def paused(store: QueueStore, names: Sequence[str]) -> set[str]:
    """Which of ``names`` are paused (one small query, for pages that show many queues)."""
    return set(store.queues_paused([check_name(n) for n in names])) if names else set()


def set_paused(store: QueueStore, name: str, paused: bool, now: datetime) -> Queue:
    store.queue_set_paused(QueuePauseParams(check_name(name), paused, now))
    return get(store, name)


def set_limits(
    store: QueueStore,
    name: str,
    now: datetime,
    concurrency: int | Unchanged | None = UNCHANGED,
    rate_limit: Rate | Unchanged | None = UNCHANGED,
) -> Queue:
    """Change the limits given (a limit left out stays as it is); None removes a limit."""
    check_name(name)
    if concurrency is UNCHANGED and rate_limit is UNCHANGED:
        return get(store, name)  # nothing to change (an empty PATCH): nothing stored
    params = QueueLimitsParams(name, now)
    if concurrency is not UNCHANGED:
        params = QueueLimitsParams(
            name, now, set_concurrency=True, concurrency=check_concurrency(concurrency)
        )
    if rate_limit is not UNCHANGED:
        rate = check_rate(rate_limit)
        params = QueueLimitsParams(
            name,
            now,
            set_concurrency=params.set_concurrency,
            concurrency=params.concurrency,
            set_rate=True,
            rate_limit=None if rate is None else rate[0],
            rate_period=None if rate is None else rate[1],
        )
    store.queue_set_limits(params)
    return get(store, name)
