"""The worker's notifier thread: wakes the loop as soon as new runs may be due."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rota.outage import Outage
from rota.storage.base import Notifier

log = logging.getLogger("rota.worker")


def listen(
    open_notifier: Callable[[], Notifier], stopping: threading.Event, wake: threading.Event
) -> None:
    """Until ``stopping``: set ``wake`` on each notification; reopen after a failure."""
    notifier = None
    outage = Outage("notifier", log)
    while not stopping.is_set():
        try:
            if notifier is None:
                notifier = open_notifier()
            if notifier.wait(0.5):
                wake.set()
            outage.ok()
        except Exception as exc:
            if notifier is not None:
                notifier.close()
            notifier = None
            stopping.wait(outage.failed(exc))
    if notifier is not None:
        notifier.close()
