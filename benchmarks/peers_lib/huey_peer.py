"""Huey with SQLite storage: one consumer of 2 worker threads, polling every 1-100 ms."""

from __future__ import annotations

import os
import sys

from huey import SqliteHuey

from peers_lib import common

huey = SqliteHuey("peers", filename=os.environ.get("PEERS_HUEY_DB", "/tmp/peers-huey.db"))


@huey.task()
def noop(i: int) -> None:
    return None


@huey.task()
def stamp() -> None:
    common.stamp()


class Peer:
    def setup(self) -> None:
        huey.flush()

    def enqueue_each(self, count: int) -> None:
        for i in range(count):
            noop(i)

    def enqueue_bulk(self, count: int) -> bool:
        return False  # Huey enqueues one task at a time

    def remaining(self) -> int:
        return int(huey.pending_count())

    def worker_commands(self) -> list[list[str]]:
        consumer = os.path.join(os.path.dirname(sys.executable), "huey_consumer")
        # the default polling backs off to 10 s when idle; 1-100 ms keeps latency comparable
        return [[consumer, "peers_lib.huey_peer.huey", "-w", "2", "-k", "thread",
                 "-d", "0.001", "-m", "0.1", "-q"]]  # fmt: skip

    def enqueue_stamp(self) -> None:
        stamp()

    def close(self) -> None:
        pass
