"""App: the registry of jobs, the configuration, and the wiring of launchers to services.

The app is a registry (jobs, batch jobs, schedules) with its configuration; the operations
live behind ``app.runs``, ``app.schedules``, ``app.batches``, ``app.queues`` and ``app.nodes``
(``rota.usecases``), the node it runs in its own process behind ``rota.cluster.embedded``, and
the contract's verbs on App delegate to them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast, overload

from rota.batch.definition import PARTITION_JOB
from rota.batch.registration import batch_spec, partition_spec
from rota.batch.runtime import BatchRuntime
from rota.clock import Clock, SystemClock
from rota.cluster.embedded import EmbeddedNode
from rota.cluster.identity import NodeIdentity
from rota.cluster.lifecycle import StopRequest
from rota.errors import ConfigError, UnknownJob
from rota.handle import RunHandle
from rota.jobs import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_QUEUE,
    Job,
    JobOptions,
    JobSpec,
    LaunchOptions,
    define,
)
from rota.launch import launch
from rota.retention import DEFAULT_RETENTION, Retention, retention_policy
from rota.retry import Backoff, BackoffFn
from rota.scheduling.model import Schedule
from rota.storage import redact
from rota.storage.base import Store
from rota.storage.lazy import LazyStore
from rota.usecases.batches_facade import Batches
from rota.usecases.nodes_facade import Nodes
from rota.usecases.queues_facade import Queues
from rota.usecases.runs_facade import Runs
from rota.usecases.schedules_facade import Schedules
from rota.usecases.workflows_facade import Workflows
from rota.worker.process_pool import ProcessLimits

log = logging.getLogger("rota")
F = Callable[..., Any]
AsgiFactory = Callable[["App", str | None, str | None], Any]
_asgi_factory: AsgiFactory | None = None


def set_asgi_factory(factory: AsgiFactory) -> None:
    """Install what ``App.asgi`` builds its ASGI app with: ``rota/__init__.py`` installs the
    web layer's. The web layer imports ``App``, so ``App`` does not import it back."""
    global _asgi_factory
    _asgi_factory = factory


class App:
    """A rota application: define jobs on it, launch them, and run its worker. ``database``
    wins over ``--database``, then ``ROTA_DATABASE_URL``, then ``sqlite:///rota.db``."""

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
        processes: ProcessLimits | None = None,
        retention: Retention | None = DEFAULT_RETENTION,
    ) -> None:
        self.name, self._database = name, LazyStore(database)
        self.retention = retention_policy(retention)  # ValueError naming a bad state or age
        self.lease_seconds = float(lease_seconds)
        self.shutdown_timeout, self.concurrency = float(shutdown_timeout), int(concurrency)
        self.served_queues = tuple(queues) if queues else None  # what its workers serve
        self.poll_interval = float(poll_interval)
        self.clock: Clock = clock or SystemClock()
        self.processes = processes or ProcessLimits()  # when process jobs get a fresh child
        self._jobs: dict[str, JobSpec] = {}  # with rota's internal jobs
        self._public_jobs: dict[str, JobSpec] = {}
        self._host = EmbeddedNode(self, self._jobs)  # the services app.start() runs
        store = self._database.get
        self.runs = Runs(store, self.clock, self.enqueue, self._host.run_here)
        self.schedules = Schedules(
            store, self.clock, self._jobs, self.launch, self._host.wake_schedulers
        )
        self.batches = Batches(store, self.clock, self.launch)
        self.nodes = Nodes(store, self.clock)
        self._wake = self._host.wake_workers  # launches and queue changes wake local workers
        self.queues = Queues(store, self.clock, self._wake)
        self.workflows = Workflows(store, self.clock, self._public_jobs, self._wake)

    @property
    def database_url(self) -> str:
        """The database URL in use: ``App(database=)``, else ``--database``, else the env."""
        return self._database.url

    def use_database(self, url: str) -> None:
        """Set the URL the CLI's ``--database`` gives; an explicit ``App(database=)`` wins."""
        self._database.use_fallback(url)

    @property
    def store(self) -> Store:
        """The opened store, its schema created or upgraded on first use."""
        return self._database.get()

    def wait_for_store(self, what: str = "node", stop: StopRequest | None = None) -> Store:
        """The store, waiting through an outage at start (``stop`` may cut the wait short)."""
        return self._host.wait_for_store(what, stop)

    def close(self) -> None:
        """Stop the services ``start`` started and close the database connections."""
        self.stop()
        self._database.close()

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
        concurrency: int | None = None,
        concurrency_key: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        rate_key: str | None = None,
        executor: str = "default",
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
        concurrency: int | None = None,
        concurrency_key: str | None = None,
        rate_limit: tuple[int, float] | None = None,
        rate_key: str | None = None,
        executor: str = "default",
    ) -> Job | Callable[[F], Job]:
        """Define a job from a function (sync or async); usable bare or with options."""
        options = JobOptions(queue, max_attempts, priority, timeout, backoff, executor=executor)
        limits = (concurrency, concurrency_key, rate_limit, rate_key)

        def register(f: F) -> Job:
            return self.register(define(f, name or f.__name__, options, limits))

        return register(func) if func is not None else register

    def register(self, spec: JobSpec) -> Job:
        """Add a defined job (what ``@app.job`` does); a second function of that name is refused."""
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
        """The job of that name, to ``configure`` or ``enqueue``; ``rota.UnknownJob`` if none."""
        if name not in self._jobs:
            raise UnknownJob(name)
        return Job(self._jobs[name], self)

    @overload
    def batch(self, func: F, /) -> Job: ...
    @overload
    def batch(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = 1,
        priority: int = 0,
        restart_limit: int | None = None,
        identifying: Sequence[str] | None = None,
    ) -> Callable[[F], Job]: ...

    def batch(
        self,
        func: F | None = None,
        /,
        *,
        name: str | None = None,
        queue: str = DEFAULT_QUEUE,
        max_attempts: int = 1,
        priority: int = 0,
        restart_limit: int | None = None,
        identifying: Sequence[str] | None = None,
    ) -> Job | Callable[[F], Job]:
        """A batch job: ``func(**args)`` returns its ``batch.Flow``; see docs/batch.md."""
        options = JobOptions(queue, max_attempts, priority)
        runtime = BatchRuntime(lambda: self.store, self._jobs, self.clock, self.lease_seconds)

        def register(f: F) -> Job:
            spec = batch_spec(f, name or f.__name__, options, runtime, restart_limit, identifying)
            if PARTITION_JOB not in self._jobs:
                self._jobs[PARTITION_JOB] = partition_spec(runtime)
            return self.register(spec)

        return register(func) if func is not None else register

    def workflow(self, func: F | None = None, /, **job_options: Any) -> Job | Callable[[F], Job]:
        """A job whose function returns a ``rota.Workflow``: launching it (from any launcher)
        enqueues that workflow, once per run; the run's result is the workflow's id."""
        job = self.workflows.decorator(self.job, func, job_options)
        return cast("Job | Callable[[F], Job]", job)

    def periodic(
        self,
        func: F | None = None,
        /,
        *,
        cron: str | None = None,
        every: float | timedelta | None = None,
        at: datetime | None = None,
        timezone: str = "UTC",
        name: str | None = None,
        misfire: str = "run_once",
        misfire_grace: float = 1.0,
        overlap: bool = True,
        **job_options: Any,
    ) -> Job | Callable[[F], Job]:
        """A parameterless job plus its schedule, stored when the scheduler starts."""

        def register(f: F) -> Job:
            job: Job = self.job(**job_options)(f)
            trigger = {"cron": cron, "every": every, "at": at, "timezone": timezone}
            policy = {"misfire": misfire, "misfire_grace": misfire_grace, "overlap": overlap}
            self.schedules.declare(job.spec, name=name or job.name, **trigger, **policy)
            return job

        return register(func) if func is not None else register

    def add_schedule(
        self,
        name: str,
        job: Job | str,
        cron: str | None = None,
        every: float | timedelta | None = None,
        at: datetime | None = None,
        kwargs: Mapping[str, Any] | None = None,
        timezone: str = "UTC",
        misfire: str = "run_once",
        **options: Any,
    ) -> Schedule:
        """Add or replace a stored schedule at run time (it survives restarts); further
        options (``misfire_grace``, ``overlap``, ``queue``, ...) as in ``app.schedules.add``."""
        return self.schedules.add(name, job, cron, every, at, kwargs, timezone, misfire, **options)

    def sync_schedules(self) -> None:
        """Store the schedules declared with ``@app.periodic`` (done when a scheduler starts)."""
        self.schedules.sync()

    def launch(
        self, job: str, args_list: Sequence[Mapping[str, Any]], options: LaunchOptions
    ) -> list[RunHandle]:
        """The one launch path every launcher takes: validate, insert, wake local workers."""
        inserted = launch(
            self.store, self.jobs, job, args_list, options, self.clock.now(), self._wake
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
        return await asyncio.to_thread(self.enqueue, job, args, **options)

    @property
    def node(self) -> NodeIdentity | None:
        """The identity of the node ``start`` last started in this process, if any."""
        return self._host.identity

    def drain(
        self, queues: Sequence[str] | None = None, stop: threading.Event | None = None
    ) -> dict[str, int]:
        """Run every due run here until none is left (or ``stop`` is set); counts by state."""
        return self._host.drain(queues, stop)

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
        self._host.start(worker, scheduler, maintenance, queues, concurrency, roles)

    def stop(self) -> None:
        """Stop what ``start`` started, gracefully: running runs get ``shutdown_timeout``."""
        self._host.stop()

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
        return self._host.worker_details(queues, concurrency)

    def serve_forever(self, start: Callable[[], None], details: Sequence[str] = ()) -> None:
        """Run a node in the foreground: ``start`` its services, stop them on SIGTERM/SIGINT."""
        self._host.serve_forever(start, details)

    def asgi(self, token: str | None = None, *, read_token: str | None = None) -> Any:
        """The REST API and dashboard to mount (rota[web]); tokens as in docs/dashboard.md."""
        if _asgi_factory is None:  # not reached: importing rota.app runs rota/__init__.py
            raise ConfigError("no web layer is installed")
        return _asgi_factory(self, token, read_token)

    def __repr__(self) -> str:
        return f"<rota.App {self.name} {redact(self.database_url)} jobs={len(self._jobs)}>"
