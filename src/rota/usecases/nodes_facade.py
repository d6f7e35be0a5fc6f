"""``app.nodes``: the node use cases bound to an app's store and clock."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import timedelta

from rota.clock import Clock
from rota.nodes import Node
from rota.storage.base import Store
from rota.usecases import nodes


class Nodes:
    """The nodes sharing an app's database: live ones, and recently dead ones."""

    def __init__(self, store: Callable[[], Store], clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def list(self, window: timedelta = timedelta(hours=1)) -> builtins.list[Node]:
        """Nodes seen within ``window``, with their roles, heartbeat and whether alive."""
        return nodes.list_nodes(self._store(), self._clock.now(), window)
