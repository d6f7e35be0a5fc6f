"""A node's identity in the cluster: unique per process start, readable in ``rota nodes``."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    id: str
    hostname: str
    pid: int
    roles: tuple[str, ...] = field(default=())

    @classmethod
    def new(cls, roles: tuple[str, ...] = ()) -> NodeIdentity:
        host = socket.gethostname()
        return cls(f"{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}", host, os.getpid(), roles)
