"""The heartbeat: keeps a node visibly alive in the cluster (``rota nodes``, the dashboard)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from rota.clock import Clock, SystemClock
from rota.cluster.identity import NodeIdentity
from rota.nodes import Node
from rota.service import Loop, every
from rota.storage.base import NodeStore

log = logging.getLogger("rota.heartbeat")


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    identity: NodeIdentity
    lease_seconds: float
    info: tuple[tuple[str, object], ...] = ()
    """What ``rota nodes`` shows about the node besides its roles."""

    @property
    def interval(self) -> float:
        return max(0.2, self.lease_seconds / 4)


class Heartbeat:
    """Registers the node, beats while it lives, and marks it stopped on a clean exit."""

    def __init__(
        self, store: NodeStore, config: HeartbeatConfig, clock: Clock | None = None
    ) -> None:
        self.store, self.config = store, config
        self.clock = clock or SystemClock()
        self._registered = False
        self._loop = Loop("heartbeat", every(config.interval, self.run_once), log)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        if self._registered:
            try:
                self.store.node_stop(self.config.identity.id, self.clock.now())
            except Exception as exc:
                log.warning("could not mark node %s stopped: %s", self.config.identity.id, exc)

    def run_once(self) -> None:
        now = self.clock.now()
        me = self.config.identity
        if self._registered:
            self.store.node_heartbeat(me.id, now)
            return
        self.store.node_register(
            Node(
                id=me.id,
                hostname=me.hostname,
                pid=me.pid,
                roles=list(me.roles),
                started_at=now,
                last_seen_at=now,
                info=dict(self.config.info),
            )
        )
        self._registered = True
