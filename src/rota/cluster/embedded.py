"""The node an app runs in its own process: started, stopped, drained, or served in the
foreground until a signal. The App holds one and delegates its contract verbs to it
(``app.start``, ``app.stop``, ``app.drain``, ``app.run_worker``), so supervision stays out of
the registry.

It reads the app's settings when it is asked to act, not when it is made: the CLI sets
``app.concurrency`` or ``app.shutdown_timeout`` after the app was loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from rota.clock import Clock
from rota.cluster.identity import NodeIdentity
from rota.cluster.lifecycle import StopRequest, boot, started_line, stop_on_signals, stopped_line
from rota.cluster.node import Node, NodeConfig
from rota.jobs import JobSpec
from rota.outage import Outage, ride_out, unavailable
from rota.retention import Policy
from rota.scheduling.scheduler import Scheduler
from rota.storage.base import Store
from rota.worker.process_pool import ProcessLimits
from rota.worker.worker import Worker

log = logging.getLogger("rota")


class NodeSettings(Protocol):
    """What the embedded node reads of its app (``rota.App`` provides it)."""

    lease_seconds: float
    shutdown_timeout: float
    concurrency: int
    served_queues: tuple[str, ...] | None
    poll_interval: float
    clock: Clock
    processes: ProcessLimits
    retention: Policy

    @property
    def database_url(self) -> str: ...

    @property
    def store(self) -> Store: ...

    def sync_schedules(self) -> None: ...


class EmbeddedNode:
    """The services of one app in this process, and the one-shot workers of drain and exec."""

    def __init__(self, settings: NodeSettings, jobs: Mapping[str, JobSpec]) -> None:
        self._settings, self._jobs = settings, jobs
        self._node: Node | None = None
        self._schedulers: list[Scheduler] = []
        self.identity: NodeIdentity | None = None
        """The identity of the node last started here (its id is in ``rota nodes``)."""

    def wait_for_store(self, what: str = "node", stop: StopRequest | None = None) -> Store:
        """The store, waiting through a database outage at start (logged once, with its cause).

        With ``stop``, raises ``StopRequested`` as soon as a stop is requested between tries.
        """

        def opened() -> Store:
            if stop is not None:
                stop.check()
            return self._settings.store

        pause = time.sleep if stop is None else stop.wait
        return ride_out(opened, Outage(what, log), retry=unavailable, pause=pause)

    # -- background services (embedded mode) ----------------------------------------------
    def start(
        self,
        worker: bool = True,
        scheduler: bool = True,
        maintenance: bool = True,
        queues: Sequence[str] | None = None,
        concurrency: int | None = None,
        roles: Sequence[str] = (),
    ) -> None:
        if self._node is not None:
            return
        store = self.wait_for_store()
        config = dataclasses.replace(
            self._config(queues, concurrency),
            worker=worker,
            scheduler=scheduler,
            maintenance=maintenance,
            roles=tuple(roles),
        )
        if scheduler:
            self._settings.sync_schedules()
        node = Node(store, self._jobs, config, self._settings.clock)
        self._node, self.identity = node, node.identity
        self._schedulers = [node.scheduler] if node.scheduler is not None else []
        node.start()

    def stop(self) -> None:
        node, self._node = self._node, None
        if node is not None:
            node.stop()
        self._schedulers = []

    def wake_workers(self) -> None:
        """New runs may be due now: a launch in this process."""
        if self._node is not None:
            self._node.wake_workers()

    def wake_schedulers(self) -> None:
        """The schedules changed: a schedule added, paused or resumed in this process."""
        for s in self._schedulers:
            s.wake()

    # -- in the foreground ----------------------------------------------------------------
    def serve_forever(self, start: Callable[[], None], details: Sequence[str] = ()) -> None:
        """Run a node in the foreground: ``start`` its services, stop them on SIGTERM/SIGINT.

        The first signal stops the node gracefully (also while it waits for its database at
        start) and this returns; a second one raises ``KeyboardInterrupt``.
        """
        with stop_on_signals() as stop:
            started = False
            try:
                started = boot(lambda: self._boot(start, stop), stop)
                if started:
                    started_line(self.identity, self._settings.database_url, details)
                    stop.wait()
            finally:
                self.stop()
                stopped_line(self.identity, started)

    def _boot(self, start: Callable[[], None], stop: StopRequest) -> None:
        self.wait_for_store(stop=stop)
        stop.check()
        start()

    def worker_details(
        self, queues: Sequence[str] | None, concurrency: int | None
    ) -> tuple[str, ...]:
        """What a worker node's start line says about its queues and concurrency."""
        served = queues or self._settings.served_queues
        return (
            f"queues {','.join(served) if served else 'all'}",
            f"concurrency {concurrency or self._settings.concurrency}",
        )

    # -- one-shot workers -----------------------------------------------------------------
    def drain(
        self, queues: Sequence[str] | None = None, stop: threading.Event | None = None
    ) -> dict[str, int]:
        """Run every due run in this process until none is left; counts by final state.

        Once ``stop`` is set nothing more is claimed: runs still running get the shutdown
        timeout to finish, then go back to ``queued``.
        """
        worker = self._worker(NodeIdentity.new(("drain",)).id, queues, None)
        last: dict[int, str] = {}
        try:
            while stop is None or not stop.is_set():
                decided = worker.run_once(stop=stop)
                for o in decided:
                    last[o.run_id] = o.state.value
                if not decided and not (stop is not None and stop.is_set()):
                    break
            if stop is not None and stop.is_set():
                worker.shutdown()
        finally:
            worker.close()
        counts: dict[str, int] = {}
        for state in last.values():
            counts[state] = counts.get(state, 0) + 1
        return counts

    def run_here(self, run_id: int) -> None:
        """Run one launched run in this process now, on a one-slot worker (``runs.exec``)."""
        worker = self._worker(NodeIdentity.new(("exec",)).id, None, 1)
        try:
            worker.run_once(only=run_id)
        finally:
            worker.close()

    def _config(
        self, queues: Iterable[str] | None = None, concurrency: int | None = None
    ) -> NodeConfig:
        """The app's settings for a node (its roles are ``NodeConfig``'s defaults)."""
        s = self._settings
        return NodeConfig(
            queues=tuple(queues) if queues else s.served_queues,
            concurrency=concurrency or s.concurrency,
            lease_seconds=s.lease_seconds,
            poll_interval=s.poll_interval,
            shutdown_timeout=s.shutdown_timeout,
            processes=s.processes,
            retention=s.retention,
        )

    def _worker(
        self, node_id: str, queues: Iterable[str] | None, concurrency: int | None
    ) -> Worker:
        config = self._config(queues, concurrency).worker_config(node_id)
        return Worker(self._settings.store, self._jobs, config, self._settings.clock)
