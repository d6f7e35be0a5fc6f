"""A node's identity in the cluster, and the heartbeat that keeps it visibly alive."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field

from rota.clock import Clock, SystemClock
from rota.cluster.service import PeriodicService
from rota.nodes import Node
from rota.storage.base import NodeStore


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    id: str
    hostname: str
    pid: int
    roles: tuple[str, ...] = field(default=())

    @classmethod
    def new(cls, roles: tuple[str, ...] = ()) -> NodeIdentity:
        host = socket.gethostname()
        return cls(f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}", host, os.getpid(), roles)


class NodeHeartbeat(PeriodicService):
    """Registers the node, beats while it lives, and marks it stopped on a clean exit."""

    name = "heartbeat"

    def __init__(
        self,
        store: NodeStore,
        identity: NodeIdentity,
        lease_seconds: float,
        clock: Clock | None = None,
        info: dict[str, object] | None = None,
    ) -> None:
        super().__init__()
        self.store, self.identity = store, identity
        self.clock = clock or SystemClock()
        self.interval = max(0.2, lease_seconds / 4)
        self.info = info or {}
        self._registered = False

    def run_once(self) -> None:
        now = self.clock.now()
        if not self._registered:
            self.store.node_register(
                Node(
                    id=self.identity.id,
                    hostname=self.identity.hostname,
                    pid=self.identity.pid,
                    roles=list(self.identity.roles),
                    started_at=now,
                    last_seen_at=now,
                    info=dict(self.info),
                )
            )
            self._registered = True
        else:
            self.store.node_heartbeat(self.identity.id, now)

    def on_stop(self) -> None:
        if self._registered:
            try:
                self.store.node_stop(self.identity.id, self.clock.now())
            except Exception as exc:
                self.log.warning("could not mark node %s stopped: %s", self.identity.id, exc)
