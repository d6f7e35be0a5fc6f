"""A node: one process's part of the cluster, composing the services of its role.

``rota run`` is worker, scheduler and maintenance (with the API served by the CLI around it),
``rota worker`` worker and maintenance, ``rota scheduler`` the scheduler; ``app.start()``
runs what the app chooses. Every node has an identity and a heartbeat, so ``rota nodes`` sees
it. The node owns the order: the heartbeat first (the node is visible before it works), then
worker, scheduler and maintenance; it stops in reverse, so maintenance resigns its lease at
once and the worker's running runs get their shutdown timeout before the node says it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rota.clock import Clock, DatabaseClock, SystemClock
from rota.cluster.heartbeat import Heartbeat, HeartbeatConfig
from rota.cluster.identity import NodeIdentity
from rota.cluster.maintenance import Maintenance, MaintenanceConfig
from rota.jobs import JobSpec
from rota.retention import DEFAULT_POLICY, Policy
from rota.scheduling.scheduler import Scheduler, SchedulerConfig
from rota.service import Service
from rota.storage.base import Store
from rota.worker.process_pool import ProcessLimits
from rota.worker.worker import Worker, WorkerConfig

log = logging.getLogger("rota.node")


@dataclass(frozen=True, slots=True)
class NodeConfig:
    worker: bool = True
    scheduler: bool = True
    maintenance: bool = True
    roles: tuple[str, ...] = ()
    """What ``rota nodes`` shows (default: the services chosen)."""
    queues: tuple[str, ...] | None = None
    concurrency: int = 8
    lease_seconds: float = 30.0
    poll_interval: float = 1.0
    shutdown_timeout: float = 30.0
    processes: ProcessLimits = field(default_factory=ProcessLimits)
    retention: Policy = field(default_factory=lambda: DEFAULT_POLICY)

    @property
    def role_names(self) -> tuple[str, ...]:
        chosen = (
            ("worker", self.worker),
            ("scheduler", self.scheduler),
            ("maintenance", self.maintenance),
        )
        return self.roles or tuple(name for name, on in chosen if on)

    def worker_config(self, node_id: str) -> WorkerConfig:
        return WorkerConfig(
            node_id=node_id,
            queues=self.queues,
            concurrency=self.concurrency,
            lease_seconds=self.lease_seconds,
            poll_interval=self.poll_interval,
            shutdown_timeout=self.shutdown_timeout,
            processes=self.processes,
        )


class Node:
    def __init__(
        self,
        store: Store,
        jobs: Mapping[str, JobSpec],
        config: NodeConfig,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        clock = clock or SystemClock()
        # the system clock follows the database's; a clock a test injects is kept as it is
        self.db_clock = DatabaseClock(store.db_now) if type(clock) is SystemClock else None
        clock = self.db_clock or clock
        self.identity = NodeIdentity.new(config.role_names)
        node_id = self.identity.id
        self.heartbeat = Heartbeat(
            store,
            HeartbeatConfig(self.identity, config.lease_seconds),
            clock,
            self.db_clock.sync if self.db_clock is not None else None,
        )
        self.worker = (
            Worker(store, jobs, config.worker_config(node_id), clock) if config.worker else None
        )
        self.scheduler = (
            Scheduler(store, jobs, SchedulerConfig(node_id), clock, self.wake_workers)
            if config.scheduler
            else None
        )
        self.maintenance = (
            Maintenance(
                store,
                MaintenanceConfig(node_id, config.lease_seconds, retention=config.retention),
                clock,
                self.heartbeat,
            )
            if config.maintenance
            else None
        )
        self._started: Sequence[Service] = ()

    @property
    def services(self) -> list[Service]:
        """The node's services in start order."""
        chosen = (self.heartbeat, self.worker, self.scheduler, self.maintenance)
        return [s for s in chosen if s is not None]

    def start(self) -> None:
        """Start every service (a second call does nothing)."""
        if self._started:
            return
        self._sync_clock()
        started: list[Service] = []
        try:
            for service in self.services:
                service.start()
                started.append(service)
        finally:
            self._started = tuple(started)

    def stop(self) -> None:
        """Stop the services in reverse order; the worker's runs get their shutdown timeout."""
        started, self._started = self._started, ()
        for service in reversed(started):
            service.stop()

    def _sync_clock(self) -> None:
        """Read the database's clock before any service writes a time (the heartbeat then
        syncs on every beat); a failure here only delays that to the first beat."""
        if self.db_clock is None:
            return
        try:
            offset = self.db_clock.sync()
        except Exception as exc:
            log.warning("could not read the database's clock yet: %s", exc)
            return
        if abs(offset) >= 1.0:
            log.warning(
                "this machine's clock is %+.1f s off the database's: node times follow the "
                "database's",
                -offset,
            )

    def wake_workers(self) -> None:
        """New runs may be due now (a launch in this process, a schedule fired)."""
        if self.worker is not None:
            self.worker.wake()
