"""What both backends do between reading a limited claim's candidates and claiming them.

The candidates query returns due runs of limited jobs (groups without room left out) with
their scopes and what each scope uses; ``plan`` turns the rows into ``rota.admission``'s
candidates and room, admits, and says which rate starts to log for the runs it claims.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rota.admission import Candidate, admit
from rota.storage.base import LimitedJob

SCAN_MIN = 32
SCAN_MAX = 1000


def scan_size(slots: int) -> int:
    """How many candidates one claim reads: enough for every slot to find a run in another
    group when groups are small, bounded whatever the backlog."""
    return max(SCAN_MIN, min(SCAN_MAX, slots * 8))


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


def plan(
    rows: Sequence[Mapping[str, Any]],
    limited: Sequence[LimitedJob],
    slots: int,
    now: datetime,
    when: Callable[[Any], datetime],
) -> Plan:
    """Admit candidate rows (limits_candidates) into ``slots`` runs; ``when`` reads run_at."""
    room: dict[str, int] = {}
    cands: list[Candidate] = []
    for r in rows:
        scopes = []
        for scope, cap, used in (
            (r["c_scope"], r["conc"], r["c_used"]),
            (r["r_scope"], r["rate"], r["r_used"]),
        ):
            if scope is not None:
                scopes.append(str(scope))
                room[str(scope)] = int(cap) - int(used)
        fair = scopes[0] if scopes else f"run:{r['id']}"
        run_at = when(r["run_at"])
        cands.append(Candidate(int(r["id"]), int(r["priority"]), run_at, tuple(scopes), fair))
    ids = admit(cands, room, slots)
    periods = {j.job: j.rate_period for j in limited if j.rate_period is not None}
    by_id = {int(r["id"]): r for r in rows}
    rate = [(i, by_id[i]) for i in ids if by_id[i]["r_scope"] is not None]
    return Plan(
        ids,
        [i for i, _ in rate],
        [str(r["r_scope"]) for _, r in rate],
        [now + timedelta(seconds=periods[str(r["job"])]) for _, r in rate],
    )


def limited_arrays(limited: Sequence[LimitedJob]) -> dict[str, list[Any]]:
    return {
        "l_jobs": [j.job for j in limited],
        "l_conc": [j.concurrency for j in limited],
        "l_rate": [j.rate_limit for j in limited],
    }
