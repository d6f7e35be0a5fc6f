"""App: the registry of jobs, the configuration, and the wiring of launchers to services."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload

from rota import operations
from rota.app_batch import BatchMixin
from rota.app_schedules import SchedulesMixin
from rota.clock import Clock, SystemClock
from rota.cluster.identity import NodeIdentity
from rota.cluster.lifecycle import (
    StopRequest,
    boot,
    started_line,
    stop_on_signals,
    stopped_line,
)
from rota.cluster.node import Node as ClusterNode
from rota.cluster.node import NodeConfig
from rota.errors import ConfigError, UnknownJob
from rota.handle import RunHandle
from rota.jobs import DEFAULT_MAX_ATTEMPTS, DEFAULT_QUEUE, Job, JobOptions, JobSpec, LaunchOptions
from rota.launch import launch
from rota.nodes import Node
from rota.outage import Outage, ride_out, unavailable
from rota.retry import Backoff, BackoffFn
from rota.runs import Run, RunState
from rota.scheduling.scheduler import Scheduler
from rota.storage import DEFAULT_URL, open_store, redact
from rota.storage.base import Store
from rota.worker.worker import Worker

log = logging.getLogger("rota")
F = Callable[..., Any]


class App(SchedulesMixin, BatchMixin):
    """A rota application: define jobs on it, launch them, and run its worker.

    ``database`` wins over the CLI's ``--database``, which wins over ``ROTA_DATABASE_URL``;
    with none of them the app uses ``sqlite:///rota.db`` in the working directory.
    """

    def __init__(
        self,
        database: str | None = None,
        *,
        name: str = "rota",
        lease_seconds: float = 30.0,
        shutdown_timeout: float = 30.0,
        concurrency: int = 8,
        queues: Sequence[str] | None = None,
        poll_interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self._database = database
        self._fallback_database: str | None = None
        self.lease_seconds = float(lease_seconds)
        self.shutdown_timeout = float(shutdown_timeout)
        self.concurrency = int(concurrency)
        self.queues = tuple(queues) if queues else None
        self.poll_interval = float(poll_interval)
        self.clock: Clock = clock or SystemClock()
        self._jobs: dict[str, JobSpec] = {}  # with rota's internal jobs
        self._public_jobs: dict[str, JobSpec] = {}
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._node: ClusterNode | None = None  # the services app.start() runs
        self._schedulers: list[Scheduler] = []
        self._code_schedules = {}
        self.node: NodeIdentity | None = None

    # -- configuration --------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        return (
            self._database
            or self._fallback_database
            or os.environ.get("ROTA_DATABASE_URL")
            or DEFAULT_URL
        )

    def use_database(self, url: str) -> None:
        """Set the URL the CLI's ``--database`` gives; an explicit ``App(database=)`` wins."""
        if self._store is not None and url != self.database_url and not self._database:
            raise ConfigError("the database cannot change once the app has opened it")
        self._fallback_database = url

    @property
    def store(self) -> Store:
        """The opened store, its schema created or upgraded on first use."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    store = open_store(self.database_url)
                    store.migrate()
                    self._store = store
        return self._store

    def wait_for_store(self, what: str = "node", stop: StopRequest | None = None) -> Store:
        """The store, waiting through a database outage at start (logged once, with its cause).

        With ``stop``, raises ``StopRequested`` as soon as a stop is requested between tries.
        """

        def opened() -> Store:
            if stop is not None:
                stop.check()
            return self.store

        pause = time.sleep if stop is None else stop.wait
        return ride_out(opened, Outage(what, log), retry=unavailable, pause=pause)

    def close(self) -> None:
        self.stop()
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- jobs -----------------------------------------------------------------------------
    @overload
    def job(self, func: F, /) -> Job: ...
    @overload
    def job(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        priority: int = 0,
        timeout: float | None = None,
        backoff: Backoff | BackoffFn | None = None,
    ) -> Callable[[F], Job]: ...

    def job(
        self,
        func: F | None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        priority: int = 0,
        timeout: float | None = None,
        backoff: Backoff | BackoffFn | None = None,
    ) -> Job | Callable[[F], Job]:
        """Define a job from a function (sync or async); usable bare or with options."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive seconds")
        options = JobOptions(queue, max_attempts, priority, timeout, backoff)

        def register(f: F) -> Job:
            return self.register(JobSpec.from_function(f, name or f.__name__, options))

        return register(func) if func is not None else register

    def _define_job(self, func: F, options: dict[str, Any]) -> Job:
        job: Job = self.job(**options)(func)
        return job

    def register(self, spec: JobSpec) -> Job:
        if spec.name in self._jobs and self._jobs[spec.name].func is not spec.func:
            raise ValueError(f"a job named {spec.name!r} is already defined in this app")
        self._jobs[spec.name] = spec
        self._public_jobs[spec.name] = spec
        return Job(spec, self)

    @property
    def jobs(self) -> Mapping[str, JobSpec]:
        """The jobs users define and launch (rota's internal jobs left out)."""
        return self._public_jobs

    def get_job(self, name: str) -> Job:
        spec = self._jobs.get(name)
        if spec is None:
            raise UnknownJob(name)
        return Job(spec, self)

    # -- launching: the one path ----------------------------------------------------------
    def launch(
        self, job: str, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions
    ) -> list[RunHandle]:
        inserted = launch(
            self.store, self.jobs, job, args_list, options, self.clock.now(), self._wake_local
        )
        return [RunHandle(self, i.id, i.created) for i in inserted]

    def enqueue(self, job: str, args: Mapping[str, Any] | None = None, **options: Any) -> RunHandle:
        """Launch ``job`` by name with ``args``; options as in ``Job.configure``."""
        try:
            launch_options = LaunchOptions(**options)
        except TypeError as exc:
            raise TypeError(f"enqueue() got an unknown option: {exc}") from None
        return self.launch(job, [dict(args or {})], launch_options)[0]

    async def enqueue_async(
        self, job: str, args: Mapping[str, Any] | None = None, **options: Any
    ) -> RunHandle:
        """``enqueue`` for async code (e.g. a web handler): runs the sync launch on a thread."""
        import asyncio

        return await asyncio.to_thread(self.enqueue, job, args, **options)

    def _wake_local(self) -> None:
        node = self._node
        if node is not None:
            node.wake_workers()

    # -- run operations -------------------------------------------------------------------
    def get_run(self, run_id: int) -> Run:
        return operations.get_run(self.store, run_id)

    def list_runs(self, **filters: Any) -> list[Run]:
        return operations.list_runs(self.store, **filters)

    def cancel(self, run_id: int) -> RunState:
        return operations.cancel(self.store, [run_id], self.clock.now())[run_id]

    def cancel_many(self, run_ids: Sequence[int]) -> dict[int, RunState]:
        return operations.cancel(self.store, run_ids, self.clock.now())

    def retry(self, run_ids: Sequence[int]) -> list[int]:
        return operations.retry(self.store, run_ids, self.clock.now())

    def delete_run(self, run_id: int) -> bool:
        return operations.delete(self.store, run_id)

    def purge(self, states: Sequence[RunState], older_than: timedelta | None = None) -> int:
        return operations.purge(self.store, states, older_than, self.clock.now())

    def nodes(self, window: timedelta = timedelta(hours=1)) -> list[Node]:
        return self.store.nodes_list(self.clock.now() - window)

    # -- execution ------------------------------------------------------------------------
    def _node_config(
        self, queues: Iterable[str] | None = None, concurrency: int | None = None
    ) -> NodeConfig:
        """The app's settings for a node (its roles are ``NodeConfig``'s defaults)."""
        return NodeConfig(
            queues=tuple(queues) if queues else self.queues,
            concurrency=concurrency or self.concurrency,
            lease_seconds=self.lease_seconds,
            poll_interval=self.poll_interval,
            shutdown_timeout=self.shutdown_timeout,
        )

    def _worker(
        self, node_id: str, queues: Iterable[str] | None, concurrency: int | None
    ) -> Worker:
        config = self._node_config(queues, concurrency).worker_config(node_id)
        return Worker(self.store, self._jobs, config, self.clock)

    def drain(
        self, queues: Sequence[str] | None = None, stop: threading.Event | None = None
    ) -> dict[str, int]:
        """Run every due run in this process until none is left; counts by final state.

        Once ``stop`` is set (``rota worker --burst`` sets it on SIGTERM/SIGINT) nothing more
        is claimed: runs still running get ``shutdown_timeout`` to finish, then go back to
        ``queued``.
        """
        identity = NodeIdentity.new(("drain",))
        worker = self._worker(identity.id, queues, None)
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

    def start(
        self,
        *,
        worker: bool = True,
        scheduler: bool = True,
        maintenance: bool = True,
        queues: Sequence[str] | None = None,
        concurrency: int | None = None,
        roles: Sequence[str] = (),
    ) -> None:
        """Run the chosen services in background threads of this process (embedded mode)."""
        if self._node is not None:
            return
        store = self.wait_for_store()
        config = dataclasses.replace(
            self._node_config(queues, concurrency),
            worker=worker,
            scheduler=scheduler,
            maintenance=maintenance,
            roles=tuple(roles),
        )
        if scheduler:
            self.sync_schedules()
        node = ClusterNode(store, self._jobs, config, self.clock)
        self._node, self.node = node, node.identity
        self._schedulers = [node.scheduler] if node.scheduler is not None else []
        node.start()

    def stop(self) -> None:
        """Stop the services started by ``start``: running runs get ``shutdown_timeout``."""
        node, self._node = self._node, None
        if node is not None:
            node.stop()
        self._schedulers = []

    def run_worker(
        self, queues: Sequence[str] | None = None, concurrency: int | None = None
    ) -> None:
        """Run a worker node in the foreground until SIGTERM or SIGINT, then stop gracefully."""
        self.serve_forever(
            lambda: self.start(scheduler=False, queues=queues, concurrency=concurrency),
            details=self.worker_details(queues, concurrency),
        )

    def worker_details(
        self, queues: Sequence[str] | None, concurrency: int | None
    ) -> tuple[str, ...]:
        """What a worker node's start line says about its queues and concurrency."""
        served = queues or self.queues
        return (
            f"queues {','.join(served) if served else 'all'}",
            f"concurrency {concurrency or self.concurrency}",
        )

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
                    started_line(self.node, self.database_url, details)
                    stop.wait()
            finally:
                self.stop()
                stopped_line(self.node, started)

    def _boot(self, start: Callable[[], None], stop: StopRequest) -> None:
        self.wait_for_store(stop=stop)
        stop.check()
        start()

    def exec(self, job: str, args: Mapping[str, Any] | None = None, **options: Any) -> Run:
        """Run ``job`` now in this process, recorded as a run (one attempt unless told)."""
        options.setdefault("max_attempts", 1)
        handle = self.enqueue(job, args, **options)
        identity = NodeIdentity.new(("exec",))
        worker = self._worker(identity.id, None, 1)
        try:
            worker.run_once(only=handle.id)
        finally:
            worker.close()
        return self.get_run(handle.id)

    def now(self) -> datetime:
        return self.clock.now()

    def asgi(self, token: str | None = None) -> Any:
        """The REST API (and dashboard) as an ASGI app, to mount in your web app (rota[web]).

        ``token`` (else env ``ROTA_API_TOKEN``) protects every path but ``/api/health``.
        """
        try:
            from rota.web import asgi
        except ImportError as exc:
            raise ConfigError(
                f"the web API is not installed ({exc.name} is missing): pip install 'rota[web]'"
            ) from exc
        return asgi(self, token)

    def __repr__(self) -> str:
        return f"<rota.App {self.name} {redact(self.database_url)} jobs={len(self._jobs)}>"
