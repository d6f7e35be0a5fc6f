"""What both backends do between reading a limited claim's candidates and claiming them.

A worker serving limited jobs claims through one query for all its jobs: due runs in claim
order, those of limited groups without room left out, each with its scopes and what each scope
uses. ``plan`` turns the rows into ``rota.admission``'s candidates and room, admits (limited
runs up to the worker's ``limited_slots``, the others up to its limit), and says which rate
starts to log for the runs it claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rota.admission import Candidate, admit
from rota.storage.base import ClaimParams

SCAN_MIN = 32
SCAN_MAX = 500

LIMITED_SLOTS = "slots:limited"
"""A scope every limited job's candidate uses: the worker's ``limited_slots``."""


def scan_size(limit: int) -> int:
    """How many candidates one claim reads: twice the limit (groups without room are left out
    by the query, so the others' runs are within reach), bounded whatever the backlog."""
    return max(SCAN_MIN, min(SCAN_MAX, 2 * limit))


def lock_key(job: str) -> int:
    """The advisory lock of a limited job's claims: a signed 64-bit digest of its name."""
    digest = hashlib.blake2b(f"rota-limit:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


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


def plan(
    rows: Sequence[Mapping[str, Any]],
    params: ClaimParams,
    when: Callable[[Any], datetime],
) -> Plan:
    """Admit candidate rows (limits_candidates): unlimited runs up to ``params.limit``, limited
    ones also within their groups' room and ``params.limited_slots``; ``when`` reads run_at."""
    caps = {j.job: j for j in params.limited}
    room: dict[str, int] = {LIMITED_SLOTS: params.limited_slots}
    cands: list[Candidate] = []
    for r in rows:
        job = caps.get(str(r["job"]))
        scopes = []
        if job is not None:
            scopes.append(LIMITED_SLOTS)
            if r["c_scope"] is not None and job.concurrency is not None:
                scopes.append(str(r["c_scope"]))
                room[str(r["c_scope"])] = job.concurrency - int(r["c_used"])
            if r["r_scope"] is not None and job.rate_limit is not None:
                scopes.append(str(r["r_scope"]))
                room[str(r["r_scope"])] = job.rate_limit - int(r["r_used"])
        fair = scopes[1] if len(scopes) > 1 else f"run:{r['id']}"
        run_at = when(r["run_at"])
        cands.append(Candidate(int(r["id"]), int(r["priority"]), run_at, tuple(scopes), fair))
    ids = admit(cands, room, params.limit)
    by_id = {int(r["id"]): r for r in rows}
    rate = [
        (i, by_id[i], caps[str(by_id[i]["job"])].rate_period)
        for i in ids
        if by_id[i]["r_scope"] is not None and str(by_id[i]["job"]) in caps
    ]
    return Plan(
        ids,
        [i for i, _, _ in rate],
        [str(r["r_scope"]) for _, r, _ in rate],
        [params.now + timedelta(seconds=p or 0.0) for _, _, p in rate],
        params.now - timedelta(seconds=max((p or 0.0 for _, _, p in rate), default=0.0)),
    )


def candidate_values(params: ClaimParams) -> dict[str, Any]:
    """The lists limits_candidates takes (each backend passes them its own way)."""
    limited = params.limited
    return {
        "l_jobs": [j.job for j in limited],
        "l_conc": [j.concurrency for j in limited],
        "l_rate": [j.rate_limit for j in limited],
        "c_jobs": [j.job for j in limited if j.concurrency is not None],
        "r_jobs": [j.job for j in limited if j.rate_limit is not None],
        "jobs": None if params.jobs is None else [*params.jobs, *(j.job for j in limited)],
        "scan": scan_size(params.limit),
    }
