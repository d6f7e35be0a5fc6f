"""How a node process starts and stops: stop requests from signals, a start that a stop request
can cut short, and the one log line a node writes when it starts and when it stops.

A node's start may block for long: the database may be down (the node waits for it), or a
server may accept a connection and never answer. The start therefore runs on a thread of its
own, so the main thread stays free to take SIGTERM or SIGINT and stop the node at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence

from rota.cluster.identity import NodeIdentity
from rota.storage import redact

log = logging.getLogger("rota")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(Exception):
    """Raised inside a node's start when a stop was requested before it could finish."""


class StopRequest:
    """Set by the first SIGTERM or SIGINT; hooks run when it is set (e.g. end serving)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._hooks: list[Callable[[], None]] = []

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def event(self) -> threading.Event:
        """The event set with the request, for loops that poll it (``App.drain``)."""
        return self._event

    def on_request(self, hook: Callable[[], None]) -> None:
        self._hooks.append(hook)

    def set(self) -> None:
        if self._event.is_set():
            return
        self._event.set()
        for hook in self._hooks:
            hook()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait in short steps, so the main thread still runs signal handlers promptly."""
        if timeout is None:
            while not self._event.wait(0.5):
                pass
            return True
        return self._event.wait(timeout)

    def check(self) -> None:
        """Raise ``StopRequested`` if a stop was requested (a start's checkpoint)."""
        if self.requested:
            raise StopRequested


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGTERM/SIGINT request a graceful stop; a second one stops at once.

    The second signal raises ``KeyboardInterrupt`` in the main thread, wherever it waits (the
    CLI then exits 130, "interrupted"): runs still running are left to be rescued when their
    lease expires. Off the main thread no handler can be installed: the request is only set
    by hand.
    """
    stop = StopRequest()

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if stop.requested:
            log.warning("received %s again: stopping now, without waiting for running runs", name)
            raise KeyboardInterrupt
        log.info("received %s: stopping gracefully", name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def boot(start: Callable[[], object], stop: StopRequest, grace: float = 0.5) -> bool:
    """Run a node's ``start`` on its own thread; True once it has started.

    False when a stop was requested first. A start that is almost done gets ``grace`` seconds
    to finish (so the caller's stop sees its services); one still blocked after that (a
    connection attempt to a silent server) is left behind on its daemon thread. An error of
    ``start`` is raised here, in the caller's thread.
    """
    done = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            start()
        except StopRequested:
            pass
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="rota-start", daemon=True).start()
    while not done.wait(0.1):
        if stop.requested:
            done.wait(grace)
            return False
    if failure:
        raise failure[0]
    return not stop.requested


def started_line(node: NodeIdentity | None, database_url: str, details: Sequence[str] = ()) -> None:
    """The node's one INFO line at start: its id, roles, database (no password) and details."""
    roles = ", ".join(node.roles) if node is not None and node.roles else "none"
    log.info(
        "node %s started (database %s): %s",
        node.id if node is not None else "-",
        redact(database_url),
        "; ".join([f"roles {roles}", *details]),
    )


def stopped_line(node: NodeIdentity | None, started: bool) -> None:
    """The node's one INFO line at stop."""
    if started:
        log.info("node %s stopped", node.id if node is not None else "-")
    else:
        log.info("node stopped before it had started")
