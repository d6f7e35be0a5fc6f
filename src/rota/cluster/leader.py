"""Leadership: this node's claim to a lease row, so one node at a time runs maintenance.

The lease is taken and renewed by compare-and-set (``rota.storage.leader_store``). The node
trusts it for one lease from the moment it asked, by its own monotonic clock: a process frozen
past that (SIGSTOP, a long GC pause) stops leading until a renewal succeeds again, so two
nodes never both believe they lead for longer than the clocks drift. A leader that stops
resigns, and another node takes over at its next try (every quarter of a lease); one that is
killed is replaced once its lease has expired.

With liveness (a node's heartbeat, ``rota.cluster.heartbeat``) the others try every half
beat and take the lease of a holder whose node is dead (not seen for
``NODE_DEAD_AFTER_SECONDS``), and the holder trusts its lease only while its own beats keep
it from being declared dead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from rota.clock import Clock, SystemClock
from rota.nodes import LIVENESS_CHECK_SECONDS
from rota.storage.leader_store import LeaderParams, LeaderStore

log = logging.getLogger("rota.maintenance")


@dataclass(frozen=True, slots=True)
class LeaderConfig:
    name: str
    """The role elected, one lease row per name (``maintenance``)."""
    node_id: str
    lease_seconds: float

    @property
    def interval(self) -> float:
        """How often the leader renews, and how often the others try to take over."""
        return max(0.05, self.lease_seconds / 4)


class Liveness(Protocol):
    def dead_before(self, now: datetime) -> datetime | None: ...
    def alive_until(self) -> float: ...


class Leadership:
    def __init__(
        self,
        store: LeaderStore,
        config: LeaderConfig,
        clock: Clock | None = None,
        liveness: Liveness | None = None,
    ) -> None:
        self.store, self.config = store, config
        self.clock = clock or SystemClock()
        self.liveness = liveness
        self._held_until = 0.0  # monotonic: trusted until then
        self._next_try = 0.0

    @property
    def leading(self) -> bool:
        until = self._held_until
        if self.liveness is not None:
            until = min(until, self.liveness.alive_until())
        return time.monotonic() < until

    @property
    def due(self) -> bool:
        """Whether it is time to renew (or to try to take the lease)."""
        return time.monotonic() >= self._next_try

    @property
    def next_try(self) -> float:
        return self._next_try

    def run_once(self) -> bool:
        """Renew the lease this node holds, else try to take it; True if this node leads."""
        began = time.monotonic()
        now = self.clock.now()
        params = self._params(now)
        was = self.leading
        held = self.store.leader_renew(params) if was else self.store.leader_acquire(params)
        self._next_try = began + self._interval(held)
        if held:
            self._held_until = began + self.config.lease_seconds
            if not was and self.leading:
                log.info("node %s now leads %s", self.config.node_id, self.config.name)
        else:
            self._held_until = 0.0
            if was:
                log.warning(
                    "node %s lost the %s lease (it expired, or another node took it)",
                    self.config.node_id,
                    self.config.name,
                )
        return held

    def resign(self) -> None:
        """Give the lease up, so another node leads at once; a failure only delays that."""
        if not self.leading:
            return
        self._held_until = 0.0
        try:
            self.store.leader_resign(self._params(self.clock.now()))
        except Exception as exc:
            log.warning("could not resign the %s lease: %s", self.config.name, exc)
            return
        log.info("node %s resigned the %s lease", self.config.node_id, self.config.name)

    def _interval(self, held: bool) -> float:
        """The leader renews every quarter lease; with liveness the others try every half beat."""
        if held or self.liveness is None:
            return self.config.interval
        return min(self.config.interval, LIVENESS_CHECK_SECONDS)

    def _params(self, now: datetime) -> LeaderParams:
        expires = now + timedelta(seconds=self.config.lease_seconds)
        dead_before = None if self.liveness is None else self.liveness.dead_before(now)
        return LeaderParams(self.config.name, self.config.node_id, now, expires, dead_before)
