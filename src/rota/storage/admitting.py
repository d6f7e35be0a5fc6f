"""What both backends do between reading a limited claim's candidates and claiming them.

A worker serving limited jobs claims through one query for all its jobs: due runs in claim
order, those of limited groups without room left out, each with its scopes and what each scope
uses. ``plan`` turns the rows into ``rota.admission``'s candidates and room, admits (limited
runs up to the worker's ``limited_slots``, the others up to its limit), and says which rate
starts to log for the runs it claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rota.admission import Candidate, admit, fair_order
from rota.storage.base import ClaimParams, LimitedJob

SCAN_MIN = 32
SCAN_MAX = 500

QUEUE_C = "queue-c:"
"""The prefix of a queue's concurrency scope."""

LIMITED_SLOTS = "slots:limited"
"""A scope every candidate of a limited job uses: the worker's ``limited_slots``."""


def scan_size(limit: int) -> int:
    """How many candidates one claim reads: twice the limit (groups without room are left out
    by the query, so the others' runs are within reach), bounded whatever the backlog."""
    return max(SCAN_MIN, min(SCAN_MAX, 2 * limit))


def lock_key(name: str) -> int:
    """An advisory lock of limited claims: a signed 64-bit digest of a name."""
    digest = hashlib.blake2b(f"rota-limit:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


QUEUES_LOCK = "\x00queues"
"""The name of the one lock that claims under queue limits take (no job is named so)."""


def lock_keys(params: ClaimParams) -> set[int]:
    """The locks a limited claim takes: one per limited job, one for all queue limits."""
    keys = {lock_key(j.job) for j in params.limited}
    if params.queue_limits:
        keys.add(lock_key(QUEUES_LOCK))
    return keys


@dataclass(frozen=True, slots=True)
class Plan:
    ids: list[int]
    rate_ids: list[int]
    """Admitted runs that start a rate-limited job, with their scope and when the start expires."""
    rate_scopes: list[str]
    rate_expires: list[datetime]
    prune_before: datetime
    """Starts of those scopes that expired before this are deleted: a window's length after
    ``now``, so that a claim that read its ``now`` earlier and waited still counts them."""
    unplaced: list[int]
    """Of ``ids``, the runs claimed ahead, not started (``ClaimParams.ahead``)."""


def _scopes(r: Mapping[str, Any], job: LimitedJob | None) -> list[tuple[str, int, float | None]]:
    """(scope, room, rate period or None) of each limit a candidate row is under."""
    out: list[tuple[str, int, float | None]] = []
    if job is not None and job.concurrency is not None and r["c_scope"] is not None:
        out.append((str(r["c_scope"]), job.concurrency - int(r["c_used"]), None))
    if job is not None and job.rate_limit is not None and r["r_scope"] is not None:
        out.append((str(r["r_scope"]), job.rate_limit - int(r["r_used"]), job.rate_period))
    if r["q_conc"] is not None:
        out.append((f"{QUEUE_C}{r['queue']}", int(r["q_conc"]) - int(r["q_c_used"]), None))
    if r["q_rate"] is not None:
        room = int(r["q_rate"]) - int(r["q_r_used"])
        out.append((f"queue-r:{r['queue']}", room, float(r["q_period"])))
    return out


def plan(rows: Sequence[Mapping[str, Any]], params: ClaimParams) -> Plan:
    """Admit candidate rows (limits_candidates, in claim order) up to ``params.limit`` runs,
    each within the room of every scope it is under, a limited job's runs also within
    ``params.limited_slots``. Says which rate starts to log for the admitted runs."""
    caps = {j.job: j for j in params.limited}
    room: dict[str, int] = {LIMITED_SLOTS: params.limited_slots}
    periods: dict[str, float] = {}
    cands: list[Candidate] = []
    by_id: dict[int, list[str]] = {}
    for r in rows:
        job = caps.get(str(r["job"]))
        under = _scopes(r, job)
        for scope, left, period in under:
            room[scope] = left
            if period is not None:
                periods[scope] = period
        scopes = [scope for scope, _, _ in under]
        run_id = int(r["id"])
        by_id[run_id] = scopes
        fair = scopes[0] if scopes else f"run:{run_id}"
        limited = (LIMITED_SLOTS,) if job is not None else ()
        cands.append(Candidate(run_id, (*limited, *scopes), fair))
    placed = admit(cands, room, params.limit)
    ahead = _ahead(cands, placed, room, params)
    ids = placed + ahead
    rate = [(i, scope) for i in ids for scope in by_id[i] if scope in periods]
    return Plan(
        ids,
        [i for i, _ in rate],
        [scope for _, scope in rate],
        [params.now + timedelta(seconds=periods[scope]) for _, scope in rate],
        params.now - timedelta(seconds=max((periods[sc] for _, sc in rate), default=0.0)),
        ahead,
    )


def _ahead(
    cands: Sequence[Candidate], placed: list[int], room: dict[str, int], params: ClaimParams
) -> list[int]:
    """Runs of jobs without limits of their own claimed past their queue's concurrency room,
    not started (``ClaimParams.ahead``): in queues this claim gives places in or where the
    node holds some, within every other room (a rate counts them), in fair order."""
    budget = min(params.ahead, params.limit - len(placed))
    if budget <= 0:
        return []
    left, taken = dict(room), set(placed)
    for c in cands:
        if c.id in taken:
            for scope in c.scopes:
                if scope in left:
                    left[scope] -= 1
    may = {f"{QUEUE_C}{q}" for q in params.placed_queues}
    may |= {sc for c in cands if c.id in taken for sc in c.scopes if sc.startswith(QUEUE_C)}
    out: list[int] = []
    for c in fair_order(cands):
        others = [sc for sc in c.scopes if not sc.startswith(QUEUE_C)]
        if len(out) >= budget:
            break
        if c.id in taken or LIMITED_SLOTS in c.scopes or not may.intersection(c.scopes):
            continue
        if all(left.get(sc, 1) > 0 for sc in others):
            for sc in others:
                if sc in left:
                    left[sc] -= 1
            out.append(c.id)
    return out


def candidate_values(params: ClaimParams) -> dict[str, Any]:
    """The lists limits_candidates takes (each backend passes them its own way)."""
    limited = params.limited
    return {
        "l_jobs": [j.job for j in limited],
        "l_conc": [j.concurrency for j in limited],
        "l_rate": [j.rate_limit for j in limited],
        "c_jobs": [j.job for j in limited if j.concurrency is not None],
        "r_jobs": [j.job for j in limited if j.rate_limit is not None],
        "c_keyed": [j.job for j in limited if j.concurrency is not None and j.concurrency_keyed],
        "r_keyed": [j.job for j in limited if j.rate_limit is not None and j.rate_keyed],
        "jobs": None if params.jobs is None else [*params.jobs, *(j.job for j in limited)],
        "scan": scan_size(params.limit),
    }
