"""RQ with Redis: two ``rq worker`` processes of the SimpleWorker class (no fork per job)."""

from __future__ import annotations

import os
import sys

import redis
from rq import Queue
from rq.registry import StartedJobRegistry

from peers_lib import common

CHUNK = 1000


def noop(i: int) -> None:
    return None


def stamp() -> None:
    common.stamp()


class Peer:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(common.REDIS_URL)
        self.queue = Queue("peers", connection=self.redis)

    def setup(self) -> None:
        self.queue.empty()

    def enqueue_each(self, count: int) -> None:
        for i in range(count):
            self.queue.enqueue(noop, i)

    def enqueue_bulk(self, count: int) -> bool:
        for first in range(0, count, CHUNK):
            self.queue.enqueue_many(
                [Queue.prepare_data(noop, (i,)) for i in range(first, min(count, first + CHUNK))]
            )
        return True

    def remaining(self) -> int:
        return self.queue.count + StartedJobRegistry(queue=self.queue).count

    def worker_commands(self) -> list[list[str]]:
        rq = os.path.join(os.path.dirname(sys.executable), "rq")
        command = [rq, "worker", "-w", "rq.worker.SimpleWorker", "-u", common.REDIS_URL, "-q"]
        return [[*command, "peers"], [*command, "peers"]]

    def enqueue_stamp(self) -> None:
        self.queue.enqueue(stamp)

    def close(self) -> None:
        self.redis.close()
