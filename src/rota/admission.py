"""Flow control's pure core: job limits, the groups a run counts in, and fair admission.

A limited job stores, on each run at launch, the group it counts in for each limit: the JSON
text of its key argument's value, or ``''`` for a job-wide limit. The claim then counts what
each group uses (running runs, starts within the rate window) and admits waiting runs here,
round-robin across groups, up to each scope's room and the worker's free slots. No I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rota.limits import MAX_KEY, MAX_LIMIT, MAX_RATE_PERIOD, quote

JOB_WIDE = ""
"""The group of every run of a job whose limit has no key."""


@dataclass(frozen=True, slots=True)
class JobLimits:
    """A job's flow-control options, as ``@app.job`` takes them (validated by ``check``)."""

    concurrency: int | None = None
    concurrency_key: str | None = None
    rate_limit: int | None = None
    """At most this many starts in any window of ``rate_period`` seconds."""
    rate_period: float | None = None
    rate_key: str | None = None

    @property
    def any(self) -> bool:
        return self.concurrency is not None or self.rate_limit is not None


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValueError(f"{name} must be an integer from 1 to {MAX_LIMIT}, got {quote(value)}")
    return value


def _key(name: str, key: Any, needs: str, given: bool, params: Sequence[str]) -> str | None:
    if key is None:
        return None
    if not given:
        raise ValueError(f"{name} needs {needs}")
    if not isinstance(key, str) or key not in params:
        known = ", ".join(params) or "none"
        raise ValueError(
            f"{name} must name one of the job's parameters ({known}), got {quote(key)}"
        )
    return key


def check_limits(
    job: str,
    params: Sequence[str],
    concurrency: Any = None,
    concurrency_key: Any = None,
    rate_limit: Any = None,
    rate_key: Any = None,
) -> JobLimits:
    """The options checked against the job's parameters; ``ValueError`` saying what is wrong."""
    try:
        conc = None if concurrency is None else _positive_int("concurrency", concurrency)
        ckey = _key("concurrency_key", concurrency_key, "concurrency=N", conc is not None, params)
        count, period = (None, None) if rate_limit is None else _rate(rate_limit)
        rkey = _key("rate_key", rate_key, "rate_limit=(N, seconds)", count is not None, params)
    except ValueError as exc:
        raise ValueError(f"job {job!r}: {exc}") from None
    return JobLimits(conc, ckey, count, period, rkey)


def _rate(rate: Any) -> tuple[int, float]:
    shape = "rate_limit must be (N, seconds): at most N starts in any window of that many seconds"
    if not isinstance(rate, tuple | list) or len(rate) != 2:
        raise ValueError(f"{shape}, got {quote(rate)}")
    count = _positive_int("rate_limit's N", rate[0])
    seconds = rate[1]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError(f"{shape}, got seconds {quote(seconds)}")
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_RATE_PERIOD):
        raise ValueError(
            f"rate_limit's seconds must be above 0 and at most {MAX_RATE_PERIOD}, "
            f"got {quote(seconds)}"
        )
    return count, float(seconds)


def canonical(value: Any) -> Any:
    """``value`` with numbers that are equal written alike (1.0 and -0.0 as 1 and 0), inside
    lists and objects too: one customer's runs must fall in one group whichever launcher
    (Python, REST, CLI) wrote its id."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def group_of(job: str, key: str | None, args: Mapping[str, Any], default: Any = None) -> str:
    """The group a run counts in: its key argument's value as compact JSON, or JOB_WIDE.

    ``ValueError`` when that text is longer than MAX_KEY characters (a limit key is an id, a
    name: never a document).
    """
    if key is None:
        return JOB_WIDE
    value = canonical(args.get(key, default))
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_KEY:
        raise ValueError(
            f"job {job!r}: argument {key!r} is its limit key, and a key's value must be at most "
            f"{MAX_KEY} characters as JSON, got {len(text)}"
        )
    return text


# -- admission ------------------------------------------------------------------------------

Scope = str
"""A counter a run uses (a group of a limited job, the worker's slots for limited runs...)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A due waiting run, with the scopes it would use if it started now."""

    id: int
    scopes: tuple[Scope, ...]
    fair_group: str
    """Runs of one group take turns with other groups' runs (its first limit's scope)."""


def fair_order(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Each group's first run before any group's second, and so on; within a turn, the order
    given (the claim order: priority, run_at, id)."""
    turn: dict[str, int] = {}
    ranked = []
    for position, c in enumerate(candidates):
        rank = turn.get(c.fair_group, 0)
        turn[c.fair_group] = rank + 1
        ranked.append((rank, position, c))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in ranked]


def admit(candidates: Sequence[Candidate], room: Mapping[Scope, int], slots: int) -> list[int]:
    """The ids to start now, of ``candidates`` given in claim order: in fair order, each run
    whose every scope has room left, up to ``slots`` runs. A scope missing from ``room`` has no
    limit."""
    left = dict(room)
    admitted: list[int] = []
    for c in fair_order(candidates):
        if len(admitted) >= slots:
            break
        if any(left.get(s, 1) <= 0 for s in c.scopes):
            continue
        for s in c.scopes:
            if s in left:
                left[s] -= 1
        admitted.append(c.id)
    return admitted
