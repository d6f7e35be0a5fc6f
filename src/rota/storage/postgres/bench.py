"""PostgreSQL side of ``rota.storage.bench``: the bare loop with FOR UPDATE SKIP LOCKED, COPY."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from rota.storage.bench import ForgetParams, Span, like_prefix
from rota.storage.postgres.options import parse
from rota.storage.sql import load_queries

Q = load_queries("rota.storage.postgres", "bench.sql")
ARGS = json.dumps({"i": 0})


class PostgresBench:
    def __init__(self, url: str) -> None:
        self._conn: psycopg.Connection[Any] = psycopg.connect(parse(url).conninfo, autocommit=True)

    def bare_reset(self) -> None:
        self.bare_drop()
        self._conn.execute(Q["bare_create"])
        self._conn.execute(Q["bare_index"])

    def bare_insert_each(self, count: int) -> None:
        conn, sql = self._conn, Q["bare_insert"]
        for _ in range(count):
            conn.execute(sql, {"args": ARGS})

    def bare_insert_bulk(self, count: int) -> None:
        with self._conn.transaction(), self._conn.cursor() as cur, cur.copy(Q["bare_copy"]) as copy:
            for _ in range(count):
                copy.write_row((ARGS,))

    def bare_drain(self, k: int) -> int:
        conn, claim, finish = self._conn, Q["bare_claim"], Q["bare_finish"]
        done = 0
        while True:
            rows = conn.execute(claim, {"k": k}).fetchall()
            if not rows:
                return done
            conn.execute(finish, {"ids": [r[0] for r in rows]})
            done += len(rows)

    def bare_drop(self) -> None:
        self._conn.execute(Q["bare_drop"])

    def span(self, queue: str) -> Span:
        row = self._conn.execute(Q["bench_span"], {"queue": queue}).fetchone()
        assert row is not None
        return Span(int(row[0]), row[1], row[2])

    def forget(self, params: ForgetParams) -> int:
        jobs = like_prefix(params.job_prefix)
        with self._conn.transaction():
            runs = self._conn.execute(
                Q["bench_forget_runs"], {"queue": params.queue, "jobs": jobs}
            ).rowcount
            self._conn.execute(Q["bench_forget_queue"], {"queue": params.queue})
            self._conn.execute(Q["bench_forget_fires"], {"jobs": jobs})
            self._conn.execute(Q["bench_forget_schedules"], {"jobs": jobs})
            self._conn.execute(
                Q["bench_forget_nodes"], {"host": params.host, "pids": list(params.pids)}
            )
        return int(runs)

    def close(self) -> None:
        self._conn.close()
