"""Child processes for ``executor="process"`` jobs: hard timeouts, lost children, recycling.

Each attempt runs in a child from this pool (``rota.worker.child``, a fresh interpreter: no
fork of a worker full of threads), on the executor thread that waits for it. A child is reused
for later attempts until it has run ``max_runs`` of them or its memory passed ``max_rss``; one
that overruns the job's timeout is killed (its process group: what it started goes too) and
the attempt fails with ``JobTimeout``; one that dies fails it with ``WorkerLost``. Either way
the worker goes on, and the next attempt gets a new child.

Nothing crosses as a pickle: the run's JSON arguments go down, progress and the JSON result
come up, an exception comes up as its type name, message and traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from rota.errors import Discard, HandBack, Retry, Snooze
from rota.jobs import JobSpec
from rota.worker.attempt import Attempt, JobTimeout, WorkerLost
from rota.worker.storable import ChildFailure

log = logging.getLogger("rota.worker")

POLL = 0.1
"""Seconds between looks at a waiting attempt's cancel and shutdown flags."""
STARTUP = 60.0
"""Seconds a child may take to start and import the job, before the job's timeout counts."""


@dataclass(frozen=True, slots=True)
class ProcessLimits:
    """When a child is replaced by a fresh one, between two attempts (None: never)."""

    max_runs: int | None = 1000
    """Attempts a child runs before it is replaced."""
    max_rss: int | None = 1024 * 1024 * 1024
    """Bytes of resident memory past which a child is replaced after its attempt."""


def job_location(spec: JobSpec) -> dict[str, Any]:
    """How the child finds the job: its module (and file, for a script) and qualified name."""
    func = spec.func
    name = func.__module__
    module = sys.modules.get(name)
    if name == "__main__" and module is not None:
        main_spec = getattr(module, "__spec__", None)  # python -m package.module
        if main_spec is not None and main_spec.name:
            name = main_spec.name
    return {
        "module": name,
        "qualname": func.__qualname__,
        "file": getattr(module, "__file__", None),
    }


class ChildProcess:
    """One child and its end of the socket pair."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        env = {**os.environ, "ROTA_CHILD_PATH": json.dumps(sys.path)}
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "rota.worker.child", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own group: a kill takes what the job started
            )
        finally:
            theirs.close()
        self.sock = mine
        self.runs = 0
        self.rss = 0
        self._buffer = b""
        self._send_lock = threading.Lock()
        self._end_lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self._send_lock:
            self.sock.sendall(data)

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message, None if none came within ``timeout``; EOFError once it died."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not ready:
                return None
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                raise EOFError
            self._buffer += chunk
            timeout = 0.0 if b"\n" in self._buffer else timeout
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        return message if isinstance(message, dict) else None

    def kill(self) -> str:
        """Kill it and what it started; how it ended. Safe from two threads at once."""
        with self._end_lock:
            if self.popen.returncode is None:  # once reaped, its pid may be another's
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
            return self.reap()

    def retire(self) -> None:
        """Ask it to exit; kill it if it does not at once."""
        with contextlib.suppress(OSError):
            self.send({"op": "exit"})
        try:
            self.popen.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()
        self.sock.close()

    def reap(self) -> str:
        try:
            code = self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait()
        self.sock.close()
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
            return f"killed by signal {-code}"
        return f"exited with code {code}"


class ProcessPool:
    """Children for process jobs: at most one per attempt in flight, reused, replaced."""

    def __init__(self, limits: ProcessLimits | None = None) -> None:
        self.limits = limits or ProcessLimits()
        self._idle: list[ChildProcess] = []
        self._busy: set[ChildProcess] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._where: dict[str, dict[str, Any]] = {}

    def run(self, attempt: Attempt) -> Any:
        """Run the attempt in a child and return its result, or raise what it ended with."""
        message = self._message(attempt)
        child = self._acquire()
        try:
            child.send(message)
        except OSError:
            raise WorkerLost(f"the job's process (pid {child.pid}) {self._lose(child)}") from None
        timeout = attempt.run.timeout
        deadline: float | None = time.monotonic() + STARTUP  # then the job's timeout
        started = False
        told = {"cancel": False, "shutdown": False}
        while True:
            self._relay(attempt, child, told)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self._lose(child)
                if not started:
                    raise JobTimeout(f"its process did not start within {STARTUP:g}s")
                raise JobTimeout(f"timed out after {timeout:g}s (its process was killed)")
            wait = POLL if deadline is None else min(POLL, deadline - now)
            try:
                reply = child.receive(wait)
            except (EOFError, ValueError):
                how = self._lose(child)
                raise WorkerLost(f"the job's process (pid {child.pid}) {how}") from None
            if reply is None:
                continue
            if reply.get("op") == "started":
                started = True
                deadline = time.monotonic() + timeout if timeout else None
            elif reply.get("op") == "progress":
                _progress(attempt, reply.get("value"))
            elif reply.get("op") == "done":
                self._release(child, reply)
                return _result(reply)

    def _message(self, attempt: Attempt) -> dict[str, Any]:
        spec, run = attempt.spec, attempt.run
        where = self._where.get(spec.name)
        if where is None:
            where = self._where[spec.name] = job_location(spec)
        upstream = None
        if "upstream" in spec.extra and attempt.upstream is not None and run.workflow:
            upstream = attempt.upstream(run.id)
        ctx = {
            "run_id": run.id,
            "attempt": run.attempt,
            "job_name": run.job,
            "node_id": attempt.ctx.node_id,
        }
        return {
            "op": "run",
            "job": where,
            "args": run.args,
            "ctx": ctx,
            "upstream": upstream,
            "cancelled": attempt.ctx.cancelled,
        }

    def _relay(self, attempt: Attempt, child: ChildProcess, told: dict[str, bool]) -> None:
        """Pass a shutdown or a cancel request on to the child, once each."""
        ctx = attempt.ctx
        for what, now in (("shutdown", ctx.shutting_down), ("cancel", ctx.cancelled)):
            if now and not told[what]:
                told[what] = True
                with contextlib.suppress(OSError):  # a dead child is found by the read
                    child.send({"op": what, "shutdown": ctx.shutting_down})

    def _acquire(self) -> ChildProcess:
        with self._lock:
            if self._closed:
                raise WorkerLost("the worker is shutting down: no process for the job")
            child = self._idle.pop() if self._idle else None
        if child is None or child.popen.poll() is not None:
            if child is not None:
                child.reap()
            child = ChildProcess()
            log.debug("started job process %s", child.pid)
        with self._lock:
            self._busy.add(child)
        return child

    def _release(self, child: ChildProcess, reply: dict[str, Any]) -> None:
        child.runs += 1
        rss = reply.get("rss")
        child.rss = rss if isinstance(rss, int) else 0
        limits = self.limits
        worn = (limits.max_runs is not None and child.runs >= limits.max_runs) or (
            limits.max_rss is not None and child.rss > limits.max_rss
        )
        with self._lock:
            self._busy.discard(child)
            keep = not worn and not self._closed
            if keep:
                self._idle.append(child)
        if not keep:
            log.info(
                "replacing job process %s after %d run(s), %d MiB resident",
                child.pid,
                child.runs,
                child.rss >> 20,
            )
            child.retire()

    def _lose(self, child: ChildProcess) -> str:
        with self._lock:
            self._busy.discard(child)
        return child.kill()

    def shutdown(self) -> None:
        """Kill every child, busy or idle (a busy one's run was handed back or is lost)."""
        with self._lock:
            self._closed = True
            children = [*self._idle, *self._busy]
            self._idle = []
        for child in children:
            with contextlib.suppress(OSError):
                child.kill()

    def pids(self) -> list[int]:
        """The pids of the children alive now (for tests and logs)."""
        with self._lock:
            return [c.pid for c in [*self._idle, *self._busy]]


def _progress(attempt: Attempt, value: Any) -> None:
    if not isinstance(value, dict):
        return
    done, total, message = value.get("done"), value.get("total"), value.get("message")
    if not isinstance(done, int | float) or isinstance(done, bool):
        return
    total = total if isinstance(total, int | float) and not isinstance(total, bool) else None
    attempt.ctx.progress(done, total, message if isinstance(message, str) else None)


def _result(reply: dict[str, Any]) -> Any:
    if reply.get("ok"):
        return reply.get("result")
    error = reply.get("error") or {}
    kind, message = error.get("kind"), str(error.get("message", ""))
    after = error.get("after")
    if kind == "retry":
        raise Retry(after, message)
    if kind == "discard":
        raise Discard(message)
    if kind == "snooze":
        raise Snooze(after if isinstance(after, int | float) else 0)
    if kind == "hand_back":
        raise HandBack(message)
    if kind == "cancelled":
        raise asyncio.CancelledError()
    name = str(error.get("type") or "Exception")
    failure = type(name if name.isidentifier() else "JobError", (ChildFailure,), {})(message)
    failure.traceback_text = str(error.get("traceback", ""))
    raise failure
