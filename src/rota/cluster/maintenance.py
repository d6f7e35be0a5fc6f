"""Maintenance: the rescuer, the reconciler and the pruner, run by one elected node at a time.

Every node with the maintenance role runs this service, but only the one holding the
``maintenance`` lease runs the tasks, each on its own beat: N nodes do not all rescan. The
others try to take the lease every quarter of a lease, so a killed leader is replaced within
about one lease, and a stopping leader resigns so that another takes over at its next try.
With the node's heartbeat (``liveness``) the others try every half beat and take over from a
dead leader within seconds, and the rescuer runs every half beat, rescuing the runs of dead
nodes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from rota.clock import Clock, SystemClock
from rota.cluster.heartbeat import Heartbeat
from rota.cluster.leader import LeaderConfig, Leadership
from rota.cluster.pruner import NODE_RETENTION, Pruner
from rota.cluster.reconciler import Reconciler
from rota.cluster.rescuer import Rescuer
from rota.nodes import LIVENESS_CHECK_SECONDS
from rota.retention import DEFAULT_POLICY, Policy
from rota.service import Loop
from rota.storage.base import Store

log = logging.getLogger("rota.maintenance")
LEASE_NAME = "maintenance"


class Task(Protocol):
    name: str
    interval: float

    def run_once(self) -> int: ...


@dataclass(frozen=True, slots=True)
class MaintenanceConfig:
    node_id: str
    lease_seconds: float
    node_retention: timedelta = NODE_RETENTION
    retention: Policy = field(default_factory=lambda: DEFAULT_POLICY)

    @property
    def interval(self) -> float:
        """The beat of the rescuer and the reconciler: a fraction of a lease, at most 5 s."""
        return max(0.2, min(5.0, self.lease_seconds / 4))

    @property
    def prune_interval(self) -> float:
        return max(1.0, min(60.0, self.lease_seconds))


class Maintenance:
    def __init__(
        self,
        store: Store,
        config: MaintenanceConfig,
        clock: Clock | None = None,
        liveness: Heartbeat | None = None,
    ) -> None:
        self.config = config
        clock = clock or SystemClock()
        self.leadership = Leadership(
            store, LeaderConfig(LEASE_NAME, config.node_id, config.lease_seconds), clock, liveness
        )
        rescue_every = (
            config.interval if liveness is None else min(config.interval, LIVENESS_CHECK_SECONDS)
        )
        self.tasks: Sequence[Task] = (
            Rescuer(store, rescue_every, clock, liveness),
            Reconciler(store, config.interval, clock),
            Pruner(store, config.prune_interval, clock, config.node_retention, config.retention),
        )
        self._due = {t.name: 0.0 for t in self.tasks}  # monotonic
        self._loop = Loop("maintenance", self._step, log)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self.leadership.resign()

    def run_once(self) -> bool:
        """Take or renew the lease and, if this node leads, run every task; True if it led."""
        if not self.leadership.run_once():
            return False
        for task in self.tasks:
            task.run_once()
        return True

    def _step(self) -> float:
        if self.leadership.due:
            self.leadership.run_once()
        if not self.leadership.leading:
            self._due = dict.fromkeys(self._due, 0.0)  # all at once when it leads again
            return self._until(self.leadership.next_try)
        for task in self.tasks:
            if time.monotonic() >= self._due[task.name]:
                task.run_once()
                self._due[task.name] = time.monotonic() + task.interval
        return self._until(min(self.leadership.next_try, *self._due.values()))

    @staticmethod
    def _until(deadline: float) -> float:
        return max(0.0, deadline - time.monotonic())
