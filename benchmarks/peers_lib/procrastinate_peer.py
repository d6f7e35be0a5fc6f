"""Procrastinate on psycopg 3: one worker of concurrency 2."""

from __future__ import annotations

import os
import sys

import psycopg
from procrastinate import App, PsycopgConnector

from peers_lib import common

URL = os.environ.get(
    "PEERS_PROCRASTINATE_URL", "postgresql://postgres@127.0.0.1:5432/rota_bench_proc"
)
CHUNK = 1000
app = App(connector=PsycopgConnector(conninfo=URL))


@app.task(name="noop", queue="peers")
def noop(i: int) -> None:
    return None


@app.task(name="stamp", queue="peers")
def stamp() -> None:
    common.stamp()


class Peer:
    def __init__(self) -> None:
        common.fresh_postgres(URL)
        self.opened = app.open()
        self.opened.__enter__()
        app.schema_manager.apply_schema()
        self.sync = psycopg.connect(URL, autocommit=True)

    def setup(self) -> None:
        self.sync.execute("DELETE FROM procrastinate_jobs")

    def enqueue_each(self, count: int) -> None:
        for i in range(count):
            noop.defer(i=i)

    def enqueue_bulk(self, count: int) -> bool:
        for first in range(0, count, CHUNK):
            noop.batch_defer(*({"i": i} for i in range(first, min(count, first + CHUNK))))
        return True

    def remaining(self) -> int:
        row = self.sync.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ).fetchone()
        return int(row[0]) if row else 0

    def worker_commands(self) -> list[list[str]]:
        start = (
            "from peers_lib.procrastinate_peer import app; "
            "app.run_worker(queues=['peers'], concurrency=2, install_signal_handlers=True)"
        )
        return [[sys.executable, "-c", start]]

    def enqueue_stamp(self) -> None:
        stamp.defer()

    def close(self) -> None:
        self.opened.__exit__(None, None, None)
        self.sync.close()
