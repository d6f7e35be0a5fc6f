"""A node as the cluster records it: who it is, what it runs, when it was last seen (no I/O).

The heartbeat service (``rota.cluster.node``) writes these; the CLI, REST API and metrics read
them. Whether a node is alive is decided here, once, from its last heartbeat and the lease.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any

HEARTBEAT_SECONDS = 1.0
"""How often a node beats (``rota_nodes.last_seen_at``), whatever its lease."""
NODE_DEAD_AFTER_SECONDS = 4.0
"""Liveness: a node not seen for this long (about four missed beats) is dead, and the rescuer
gives its running runs back then, whatever their leases. A node that is only slow keeps its
runs: its heartbeat thread beats on while its jobs run. Runs of a process that does not
register as a node (``app.drain``, ``rota exec``) keep the lease rule."""
LIVENESS_CHECK_SECONDS = 0.5
"""How often the maintenance leader looks for dead nodes, and the other nodes for a dead
leader: a killed node's runs are back within ``NODE_DEAD_AFTER_SECONDS`` plus this of its
last beat, under 5 s of its death."""


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    hostname: str
    pid: int
    roles: list[str]
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None = None
    info: dict[str, JSON] = field(default_factory=dict)

    def alive(self, now: datetime, lease_seconds: float) -> bool:
        """Not stopped, and heard from within one lease."""
        return self.stopped_at is None and (now - self.last_seen_at).total_seconds() < lease_seconds

    def to_json(self, now: datetime, lease_seconds: float) -> dict[str, JSON]:
        state = "alive" if self.alive(now, lease_seconds) else None
        return {
            "id": self.id,
            "hostname": self.hostname,
            "pid": self.pid,
            "roles": self.roles,
            "started_at": self.started_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "state": state or ("stopped" if self.stopped_at else "dead"),
            "info": self.info,
        }
