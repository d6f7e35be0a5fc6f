"""Where attempts run: sync jobs on a thread pool, async jobs on one event-loop thread, and
``executor="process"`` jobs in child processes, each waited for by a thread of the pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

from rota.worker.attempt import Attempt, call_async, call_sync
from rota.worker.process_pool import ProcessLimits, ProcessPool

log = logging.getLogger("rota.worker")

Done = Callable[[Attempt, Any, BaseException | None], None]
"""Called (on the executing thread) when an attempt ends: attempt, result, exception."""


class ExecutorSettings(Protocol):
    """What the executors read of a worker's configuration."""

    @property
    def concurrency(self) -> int: ...

    @property
    def processes(self) -> ProcessLimits: ...


class Executors:
    """Starts attempts and reports each end to ``done``; owns its threads."""

    def __init__(
        self,
        concurrency: int,
        done: Done,
        name: str = "rota",
        processes: ProcessLimits | None = None,
    ) -> None:
        self._done = done
        self._processes = ProcessPool(processes)
        self._pool = _DaemonPool(concurrency, self._call_sync, f"{name}-job")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._name = name

    @classmethod
    def of(cls, config: ExecutorSettings, done: Done) -> Executors:
        """The executors of a worker with this configuration."""
        return cls(config.concurrency, done, processes=config.processes)

    def submit(self, attempt: Attempt, *, spare: bool = False) -> None:
        """Start the attempt; ``spare``: a sync one on a thread of its own, past the pool's
        size (a run lent the slot of a job that waits on it)."""
        if attempt.spec.is_async and attempt.spec.options.executor != "process":
            self._submit_async(attempt)
        elif spare:
            name = f"{self._name}-spare-{attempt.run.id}"
            spare_thread = threading.Thread(
                target=self._call_spare, args=(attempt,), name=name, daemon=True
            )
            spare_thread.start()
        else:
            self._pool.submit(attempt)

    def _call_spare(self, attempt: Attempt) -> None:
        try:
            self._call_sync(attempt)
        except Exception:  # as in the pool: a bug in reporting is logged, not raised
            log.exception("reporting the end of run %s failed", attempt.run.id)

    def _call_sync(self, attempt: Attempt) -> None:
        try:
            if attempt.spec.options.executor == "process":
                result = self._processes.run(attempt)
            else:
                result = call_sync(attempt)
        except BaseException as exc:  # the job's failure, whatever it is, ends its attempt
            self._done(attempt, None, exc)
        else:
            self._done(attempt, result, None)

    def _report(self, attempt: Attempt, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self._done(attempt, None, asyncio.CancelledError())
            return
        exc = task.exception()
        self._done(attempt, None if exc is not None else task.result(), exc)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"{self._name}-asyncio", daemon=True
                )
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def _submit_async(self, attempt: Attempt) -> None:
        # The attempt ends when its task does, not when cancellation is asked for: cancelling
        # the concurrent future of run_coroutine_threadsafe would report the end at once,
        # while the job still runs its cleanup (and still holds its slot).
        loop = self._event_loop()
        tasks: list[asyncio.Task[Any]] = []

        def begin() -> None:
            task = loop.create_task(call_async(attempt))
            task.add_done_callback(lambda t: self._report(attempt, t))
            tasks.append(task)

        def cancel() -> None:  # runs on the loop, after begin (callbacks run in order)
            for task in tasks:
                task.cancel()

        def request_cancel() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing runs
                loop.call_soon_threadsafe(cancel)

        attempt.cancel = request_cancel
        loop.call_soon_threadsafe(begin)

    @property
    def processes(self) -> ProcessPool:
        return self._processes

    def shutdown(self) -> None:
        """Stop the threads and kill the job processes; attempts still running are abandoned
        (their results ignored)."""
        self._pool.shutdown()
        self._processes.shutdown()
        with self._lock:
            loop, thread = self._loop, self._loop_thread
            self._loop = self._loop_thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(_cancel_all_and_stop, loop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()


def _cancel_all_and_stop(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.call_soon(loop.stop)


class _DaemonPool:
    """Up to ``size`` daemon threads running sync attempts.

    Daemon threads, unlike ``concurrent.futures``' (joined at interpreter exit): a job that
    ignores ``ctx.cancelled`` must not keep a stopped worker's process alive once its run was
    handed back to the queue. The worker never submits more than ``size`` at once.
    """

    def __init__(self, size: int, call: Callable[[Attempt], None], name: str) -> None:
        self._size, self._call, self._name = size, call, name
        self._queue: queue.SimpleQueue[Attempt | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, attempt: Attempt) -> None:
        with self._lock:
            if len(self._threads) < self._size:
                t = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                t.start()
                self._threads.append(t)
        self._queue.put(attempt)

    def _work(self) -> None:
        while (attempt := self._queue.get()) is not None:
            try:
                self._call(attempt)
            except Exception:  # a bug in reporting must not cost the pool a thread
                log.exception("reporting the end of run %s failed", attempt.run.id)

    def shutdown(self) -> None:
        """Let idle threads end; busy ones end with their job (or with the process)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
