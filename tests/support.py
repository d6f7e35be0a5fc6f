"""Helpers shared by the suites that run real processes: free ports, waiting, subprocesses.

Waiting is always for a condition, with a timeout, never for a fixed time. A process started
with ``spawn`` writes stdout and stderr to a log file (never to a pipe that could fill up); a
failure about it shows the end of that log.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rota.batch.context import StepContext

T = TypeVar("T")
LOG_TAIL = 4000  # characters of a log shown in a failure


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T | None], timeout: float = 20.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy (returned); fail after ``timeout`` s.

    Polls often at first, then less (up to every 0.2 s), never sleeping past the deadline.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = check()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or check}")
        time.sleep(min(delay, left))
        delay = min(0.2, delay * 1.5)


def read_log(path: Path) -> str:
    """The text of a log file; empty while it does not exist."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers: a database that
    hangs. ``connections`` counts the clients that got through; ``close`` drops them all."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        return len(self.held)

    def _accept(self) -> None:
        while not self._closed.is_set():
            with contextlib.suppress(OSError):
                conn, _ = self.sock.accept()
                self.held.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        for conn in [*self.held, self.sock]:
            conn.close()


class Process:
    """A subprocess whose output goes to ``log_path``; ``group``: it leads its own session."""

    def __init__(
        self, name: str, popen: subprocess.Popen[bytes], log_path: Path, group: bool = False
    ) -> None:
        self.name, self.popen, self.log_path, self.group = name, popen, log_path, group

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return read_log(self.log_path)

    def tail(self, chars: int = LOG_TAIL) -> str:
        return self.log()[-chars:]

    def send(self, sig: int, *, group: bool = False) -> None:
        """Signal the process (its whole process group with ``group``), if it is still there."""
        with contextlib.suppress(ProcessLookupError):
            if group and self.group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)

    def kill9(self) -> int:
        """SIGKILL (its whole group, if it leads one) and reap; the exit status (-9)."""
        if self.group:
            self.send(signal.SIGKILL, group=True)
        elif self.alive():
            self.popen.kill()  # also ends a SIGSTOPped process
        return self.popen.wait(10)

    def wait_exit(self, timeout: float) -> int:
        """The exit code once it has exited; fails with the log after ``timeout`` seconds."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} (pid {self.pid}) still running after {timeout:g}s; log:\n"
                + self.tail()
            ) from None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0, *, group: bool = False) -> int:
        """Send ``sig`` and return the exit code; killed, and a failure, if it lingers."""
        if self.alive():
            self.send(sig, group=group)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(
                f"{self.name} (pid {self.pid}) did not stop in {timeout:g}s on "
                f"{signal.Signals(sig).name}; log:\n{self.tail()}"
            ) from None

    def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """``wait_until(check)``, failing at once with the log if the process exits first."""

        def alive_and_check() -> T | None:
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited {self.popen.returncode} while waiting for {what}; "
                    f"log:\n{self.tail()}"
                )
            return check()

        return wait_until(alive_and_check, timeout, what)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid} alive={self.alive()}>"


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    group: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its output in ``log_path`` (in its own session with ``group``)."""
    with log_path.open("wb") as out:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )


class Processes:
    """The processes of one test: every one still alive is killed at ``cleanup``."""

    def __init__(self) -> None:
        self.spawned: list[Process] = []

    def add(self, proc: Process) -> Process:
        self.spawned.append(proc)
        return proc

    def cleanup(self) -> None:
        for p in self.spawned:
            if p.alive() or p.group:
                with contextlib.suppress(subprocess.TimeoutExpired):  # the kernel reaps it
                    p.kill9()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (pid {p.pid})\n{p.tail()}" for p in self.spawned)


def stop_piped(
    popen: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 30.0
) -> tuple[int, str]:
    """Send ``sig`` to a process with piped output: its exit code and stderr once it exited.

    Killed, and a failure showing its stderr, if it does not exit within ``timeout`` seconds.
    """
    if popen.poll() is None:
        popen.send_signal(sig)
    try:
        _, err = popen.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        _, err = popen.communicate(timeout=30)
        raise AssertionError(
            f"pid {popen.pid} did not stop in {timeout:g}s on {signal.Signals(sig).name}; "
            f"stderr:\n{(err or '')[-LOG_TAIL:]}"
        ) from None
    return popen.returncode, err


def kill_piped(popen: subprocess.Popen[str]) -> None:
    """Kill a process with piped output if it still runs, and reap it (teardown)."""
    if popen.poll() is None:
        popen.kill()
        popen.communicate(timeout=30)


# -- batch item streams: driving a reader or writer as the chunk runner does ----------------


def context(state: dict[str, Any] | None = None) -> StepContext:
    """A step context as a restart sees it: the state went through the database as JSON."""
    saved = json.loads(json.dumps(state)) if state is not None else None
    return StepContext(
        execution_id=1, step="s", job="j", args={}, state=saved, restarted=state is not None
    )


def take(reader: Any, ctx: StepContext, commit: int, lost: int = 0) -> list[Any]:
    """Open, take ``commit`` items and checkpoint them, take ``lost`` more, then "crash"."""
    reader.open(ctx)
    items = iter(reader(ctx))
    taken = list(itertools.islice(items, commit))
    reader.update(ctx)
    list(itertools.islice(items, lost))
    reader.close()
    return taken


def read_all(reader: Any, ctx: StepContext) -> list[Any]:
    reader.open(ctx)
    try:
        return list(reader(ctx))
    finally:
        reader.close()
