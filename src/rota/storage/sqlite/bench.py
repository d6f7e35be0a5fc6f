"""SQLite side of ``rota.storage.bench``: the bare loop with UPDATE ... RETURNING."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator

from rota.storage.bench import ForgetParams, Span, like_prefix
from rota.storage.sql import load_queries
from rota.storage.sqlite.connection import SQLiteBase

Q = load_queries("rota.storage.sqlite", "bench.sql")
ARGS = json.dumps({"i": 0})


class SQLiteBench:
    def __init__(self, url: str) -> None:
        self._conn: sqlite3.Connection = SQLiteBase(url).connect()

    def bare_reset(self) -> None:
        self.bare_drop()
        self._conn.execute(Q["bare_create"])
        self._conn.execute(Q["bare_index"])

    def bare_insert_each(self, count: int) -> None:
        conn, sql = self._conn, Q["bare_insert"]
        for _ in range(count):
            conn.execute(sql, {"args": ARGS, "now": time.time()})

    def bare_insert_bulk(self, count: int) -> None:
        now = time.time()
        with self._transaction():
            self._conn.executemany(
                Q["bare_insert"], ({"args": ARGS, "now": now} for _ in range(count))
            )

    def bare_drain(self, k: int) -> int:
        conn, claim, finish = self._conn, Q["bare_claim"], Q["bare_finish"]
        done = 0
        while True:
            rows = conn.execute(claim, {"k": k, "now": time.time()}).fetchall()
            if not rows:
                return done
            conn.execute(finish, {"ids": json.dumps([r[0] for r in rows])})
            done += len(rows)

    def bare_drop(self) -> None:
        self._conn.execute(Q["bare_drop"])

    def span(self, queue: str) -> Span:
        count, first, last = self._conn.execute(Q["bench_span"], {"queue": queue}).fetchone()
        return Span(int(count), first, last)

    def forget(self, params: ForgetParams) -> int:
        jobs = like_prefix(params.job_prefix)
        with self._transaction():
            runs = self._conn.execute(
                Q["bench_forget_runs"], {"queue": params.queue, "jobs": jobs}
            ).rowcount
            self._conn.execute(Q["bench_forget_queue"], {"queue": params.queue})
            self._conn.execute(Q["bench_forget_fires"], {"jobs": jobs})
            self._conn.execute(Q["bench_forget_schedules"], {"jobs": jobs})
            self._conn.execute(
                Q["bench_forget_nodes"],
                {"host": params.host, "pids": json.dumps(list(params.pids))},
            )
        return int(runs)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
