"""PgQueuer on asyncpg, its defaults (batch 10); ``python -m peers_lib.pgqueuer_peer`` is a worker.

An async no-op entrypoint: with no blocking work, the worker's concurrency is not what
limits it; its claim, log and notify are.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import asyncpg
import psycopg
from pgqueuer import AsyncpgDriver, Queries, QueueManager

from peers_lib import common

URL = os.environ.get("PEERS_PGQUEUER_URL", "postgresql://postgres@127.0.0.1:5432/rota_bench_pgq")
CHUNK = 1000


class Peer:
    def __init__(self) -> None:
        common.fresh_postgres(URL)
        self.loop = asyncio.new_event_loop()
        self.conn = self._run(asyncpg.connect(URL))
        self.queries = Queries(AsyncpgDriver(self.conn))
        self._run(self.queries.install())
        self.sync = psycopg.connect(URL, autocommit=True)

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def setup(self) -> None:
        self.sync.execute("DELETE FROM pgqueuer")

    def enqueue_each(self, count: int) -> None:
        async def each() -> None:
            for _ in range(count):
                await self.queries.enqueue("noop", b"{}")

        self._run(each())

    def enqueue_bulk(self, count: int) -> bool:
        async def bulk() -> None:
            for first in range(0, count, CHUNK):
                n = min(CHUNK, count - first)
                await self.queries.enqueue(["noop"] * n, [b"{}"] * n, [0] * n)

        self._run(bulk())
        return True

    def remaining(self) -> int:
        row = self.sync.execute("SELECT count(*) FROM pgqueuer").fetchone()
        return int(row[0]) if row else 0

    def worker_commands(self) -> list[list[str]]:
        return [[sys.executable, "-m", "peers_lib.pgqueuer_peer"]]

    def enqueue_stamp(self) -> None:
        self._run(self.queries.enqueue("stamp", None))

    def close(self) -> None:
        self._run(self.conn.close())
        self.loop.close()
        self.sync.close()


async def work() -> None:
    conn = await asyncpg.connect(URL)
    manager = QueueManager(Queries(AsyncpgDriver(conn)))

    @manager.entrypoint("noop")
    async def noop(job: Any) -> None:
        return None

    @manager.entrypoint("stamp")
    async def stamp(job: Any) -> None:
        common.stamp()

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, manager.shutdown.set)
    await manager.run()


if __name__ == "__main__":
    asyncio.run(work())
