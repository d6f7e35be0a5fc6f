"""Where attempts run: sync jobs on a thread pool, async jobs on one event-loop thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from rota.worker.attempt import Attempt, call_async, call_sync

Done = Callable[[Attempt, Any, BaseException | None], None]
"""Called (on the executing thread) when an attempt ends: attempt, result, exception."""


class Executors:
    """Starts attempts and reports each end to ``done``; owns its threads."""

    def __init__(self, concurrency: int, done: Done, name: str = "rota") -> None:
        self._done = done
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix=f"{name}-job"
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._name = name

    def submit(self, attempt: Attempt) -> None:
        if attempt.spec.is_async:
            self._submit_async(attempt)
        else:
            future = self._pool.submit(call_sync, attempt)
            future.add_done_callback(lambda f: self._report(attempt, f))

    def _report(self, attempt: Attempt, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._done(attempt, None, asyncio.CancelledError())
            return
        exc = future.exception()
        self._done(attempt, None if exc is not None else future.result(), exc)

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
        loop = self._event_loop()
        future = asyncio.run_coroutine_threadsafe(call_async(attempt), loop)
        attempt.cancel = future.cancel  # thread-safe: cancels the task on its loop
        future.add_done_callback(lambda f: self._report(attempt, f))

    def shutdown(self) -> None:
        """Stop the threads; attempts still running are abandoned (their results ignored)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
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
