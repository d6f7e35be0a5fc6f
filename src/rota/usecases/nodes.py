"""Node use cases: the nodes of the cluster as their heartbeats tell (``rota nodes``, REST)."""

from __future__ import annotations

from datetime import datetime, timedelta

from rota.nodes import Node
from rota.storage.base import NodeStore


def list_nodes(store: NodeStore, now: datetime, window: timedelta) -> list[Node]:
    """Live nodes, and dead ones whose last heartbeat is less than ``window`` old."""
    return store.nodes_list(now - window)
