"""The leader part of the storage seam: a lease row per elected role, taken by compare-and-set.

One node at a time holds a role's lease (``maintenance``: rescue, prune, reconcile), as
River's and Oban's leaders do. Every verb is a single statement with ``now`` passed in, so it
works on either backend and behind PgBouncer in transaction mode (no session advisory lock).
A holder that stops renewing loses the lease when ``expires_at`` passes; another node then
takes it with its next ``leader_acquire``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LeaderParams:
    name: str
    """The role elected (one lease row per name)."""
    node_id: str
    now: datetime
    expires_at: datetime
    """Until when the lease is held if taken or renewed (unused by ``leader_resign``)."""
    dead_before: datetime | None = None
    """Liveness: a lease held by a node stopped, or not seen since then, is free to take."""


@dataclass(frozen=True, slots=True)
class Leader:
    name: str
    node_id: str
    elected_at: datetime
    """When this node took the lease (renewals keep it)."""
    expires_at: datetime


class LeaderStore(Protocol):
    def leader_acquire(self, params: LeaderParams) -> bool:
        """Take the lease if nobody holds it, it expired (``expires_at <= now``), its holder
        is dead by ``dead_before``, or this node holds it already (then it is renewed); True if
        this node holds it now."""
        ...

    def leader_renew(self, params: LeaderParams) -> bool:
        """Extend the lease this node holds and that has not expired; False otherwise (it was
        lost: another node may hold it now)."""
        ...

    def leader_resign(self, params: LeaderParams) -> bool:
        """Give up the lease if this node holds it, so another node takes it at once."""
        ...

    def leader_get(self, name: str) -> Leader | None:
        """The lease row of ``name`` as stored, expired or not (for tests and operators)."""
        ...
