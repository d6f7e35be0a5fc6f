"""Celery 5 with Redis as broker, no result backend; one worker of 2 prefork children."""

from __future__ import annotations

import sys
from typing import Any

import redis
from celery import Celery

from peers_lib import common

QUEUE = "peers"
app = Celery("peers", broker=common.REDIS_URL)
app.conf.update(
    task_ignore_result=True,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")
def noop(i: int) -> None:
    return None


@app.task(name="stamp")
def stamp() -> None:
    common.stamp()


class Peer:
    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(common.REDIS_URL)

    def setup(self) -> None:
        self.redis.delete(QUEUE, "unacked", "unacked_index")

    def enqueue_each(self, count: int) -> None:
        for i in range(count):
            noop.delay(i)

    def enqueue_bulk(self, count: int) -> bool:
        return False  # no bulk enqueue in Celery (a group still sends one message per task)

    def remaining(self) -> int:
        return int(self.redis.llen(QUEUE)) + int(self.redis.hlen("unacked"))

    def worker_commands(self) -> list[list[str]]:
        return [
            [
                sys.executable, "-m", "celery", "-A", "peers_lib.celery_peer", "worker",
                "-c", "2", "-P", "prefork", "-Q", QUEUE, "-l", "warning",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ]
        ]  # fmt: skip

    def enqueue_stamp(self) -> Any:
        return stamp.delay()

    def close(self) -> None:
        self.redis.close()
