"""The heartbeat: keeps a node visibly alive in the cluster (``rota nodes``, the dashboard).

It beats about once a second whatever the lease (``rota.nodes.HEARTBEAT_SECONDS``), and that
is what liveness reads: a node not seen for ``NODE_DEAD_AFTER_SECONDS`` is dead, its runs are
rescued and its leader lease is free. A beat also syncs the node's clock with the
database's (``rota.clock.DatabaseClock``) when the node has one.

The heartbeat also tells its own node whether it may judge others (``dead_before``): only
once it has itself beaten steadily for ``NODE_DEAD_AFTER_SECONDS``. After a database outage,
or a freeze of this process, every node looks silent for a moment; the others get that long
to beat again before anyone is declared dead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rota.clock import Clock, SystemClock
from rota.cluster.identity import NodeIdentity
from rota.nodes import HEARTBEAT_SECONDS, NODE_DEAD_AFTER_SECONDS, Node
from rota.service import Loop, every
from rota.storage.base import NodeStore

log = logging.getLogger("rota.heartbeat")
TRUST_MARGIN = 0.5
"""Seconds before others may declare this node dead that it stops trusting its own liveness."""


@dataclass(frozen=True, slots=True)
class HeartbeatConfig:
    identity: NodeIdentity
    lease_seconds: float
    info: tuple[tuple[str, object], ...] = ()
    """What ``rota nodes`` shows about the node besides its roles."""

    @property
    def interval(self) -> float:
        """Once a second; faster only with a lease shorter than four seconds (tests)."""
        return max(0.2, min(HEARTBEAT_SECONDS, self.lease_seconds / 4))


class Heartbeat:
    """Registers the node, beats while it lives, and marks it stopped on a clean exit."""

    def __init__(
        self,
        store: NodeStore,
        config: HeartbeatConfig,
        clock: Clock | None = None,
        sync: Callable[[], object] | None = None,
    ) -> None:
        self.store, self.config = store, config
        self.clock = clock or SystemClock()
        self.sync = sync
        self._registered = False
        self._last_beat = float("-inf")  # monotonic, when the last beat that landed began
        self._steady_since = float("inf")
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
        began = time.monotonic()
        if self.sync is not None:
            self.sync()
        now = self.clock.now()
        me = self.config.identity
        if self._registered:
            self.store.node_heartbeat(me.id, now)
        else:
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
        if began - self._last_beat > self._gap:
            self._steady_since = began
        self._last_beat = began

    @property
    def _gap(self) -> float:
        """A longer pause between two beats that landed breaks the steady run."""
        return 2 * max(self.config.interval, HEARTBEAT_SECONDS)

    def alive_until(self) -> float:
        """Until when (monotonic) no other node can have declared this one dead."""
        return self._last_beat + NODE_DEAD_AFTER_SECONDS - TRUST_MARGIN

    def dead_before(self, now: datetime) -> datetime | None:
        """Nodes not seen since this are dead, or None while this node may not judge yet."""
        m = time.monotonic()
        if m - self._last_beat > self._gap or m - self._steady_since < NODE_DEAD_AFTER_SECONDS:
            return None
        return now - timedelta(seconds=NODE_DEAD_AFTER_SECONDS)
