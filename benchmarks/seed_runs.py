"""A million runs in one SQL statement, shared by the benchmarks that need a full table.

Launching a million runs through the app would take many minutes; one ``INSERT ... SELECT``
over a generated series takes seconds. The mix: per 1,000 runs, SHARES gives how many are in
each state; most ended over the last ``days`` days, spread evenly in time (the newest ids are
the newest runs), the failed ones with one error entry and its traceback; a backlog of queued
runs due over the last ten minutes, some scheduled an hour ahead, some retrying and running.
Seven jobs (``job_0`` .. ``job_6``) in QUEUES (skewed towards ``default``); every run's
arguments hold a user id, an e-mail address at ``example.com`` and a note.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

QUEUES = ("default", "emails", "reports", "video", "billing")
JOBS = tuple(f"job_{i}" for i in range(7))
# Per 1,000 runs: how many are in each state (the rest of the million follows these shares).
SHARES = (
    ("succeeded", 900),
    ("failed", 50),
    ("cancelled", 10),
    ("queued", 30),
    ("scheduled", 5),
    ("retrying", 3),
    ("running", 2),
)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/jobs.py", line 42, in charge\n'
    "    gateway.charge(user_id, amount)\n"
    "ValueError: card declined\n"
)

# One row per i in 0..n-1: the state comes from i's place in a block of 1,000 (SHARES), the
# queue from i modulo 5 (skewed towards 'default'), times from i's place in the span.
_STATE_CASES = " ".join(
    f"WHEN mod(i, 1000) < {sum(s for _, s in SHARES[: k + 1])} THEN '{name}'"
    for k, (name, _) in enumerate(SHARES)
)

SQLITE_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, node_id, lease_expires_at, errors)
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n),
t AS (SELECT i, CASE {_STATE_CASES.replace("mod(i, 1000)", "i % 1000")} END AS state,
             :now - :span + (:span * i) / :n AS at FROM s)
SELECT 'job_' || (i % 7),
       CASE WHEN i % 10 < 6 THEN 'default' ELSE json_extract(:queues, '$[' || (i % 5) || ']') END,
       state,
       '{{"user_id":' || i || ',"email":"user' || i || '@example.com","note":"seeded"}}',
       3,
       CASE state WHEN 'queued' THEN :now - 600 + (i % 600)
                  WHEN 'scheduled' THEN :now + 3600 ELSE at END,
       CASE state WHEN 'queued' THEN :now - 600 + (i % 600) ELSE at END,
       CASE WHEN state IN ('queued', 'scheduled') THEN NULL ELSE at + 1 END,
       CASE WHEN state IN ('succeeded', 'failed', 'cancelled') THEN at + 2 END,
       CASE WHEN state IN ('queued', 'scheduled') THEN 0 ELSE 1 END,
       CASE WHEN state = 'running' THEN 'bench-node' END,
       CASE WHEN state = 'running' THEN :now + 30 END,
       CASE WHEN state = 'failed' THEN :errors ELSE '[]' END
FROM t
"""

POSTGRES_SEED = f"""
INSERT INTO rota_runs (job, queue, state, args, max_attempts, run_at, created_at, started_at,
                       finished_at, attempt, node_id, lease_expires_at, errors)
SELECT 'job_' || (mod(i, 7)),
       CASE WHEN mod(i, 10) < 6 THEN 'default' ELSE (%(queues)s::text[])[mod(i, 5) + 1] END,
       state,
       jsonb_build_object('user_id', i, 'email', 'user' || i || '@example.com',
                          'note', 'seeded'),
       3,
       CASE state WHEN 'queued' THEN %(now)s - (600 - mod(i, 600)) * interval '1 second'
                  WHEN 'scheduled' THEN %(now)s + interval '1 hour' ELSE at END,
       CASE state WHEN 'queued' THEN %(now)s - (600 - mod(i, 600)) * interval '1 second'
                  ELSE at END,
       CASE WHEN state IN ('queued', 'scheduled') THEN NULL ELSE at + interval '1 second' END,
       CASE WHEN state IN ('succeeded', 'failed', 'cancelled')
            THEN at + interval '2 seconds' END,
       CASE WHEN state IN ('queued', 'scheduled') THEN 0 ELSE 1 END,
       CASE WHEN state = 'running' THEN 'bench-node' END,
       CASE WHEN state = 'running' THEN %(now)s + interval '30 seconds' END,
       CASE WHEN state = 'failed' THEN %(errors)s::jsonb ELSE '[]'::jsonb END
FROM (SELECT i, CASE {_STATE_CASES} END AS state,
             %(now)s - %(span)s * interval '1 second'
                 + (%(span)s * i / %(n)s) * interval '1 second' AS at
      FROM generate_series(0, %(n)s - 1) AS i) t
"""


def error_entries(now: datetime) -> str:
    """The ``errors`` of a seeded failed run: one failed attempt with its traceback."""
    entry = {
        "attempt": 1,
        "type": "ValueError",
        "message": "card declined",
        "traceback": TRACEBACK,
        "at": now.isoformat(),
    }
    return json.dumps([entry])


def seed(url: str, n: int, now: datetime, days: float) -> None:
    """Append ``n`` runs to the runs table of ``url`` (PostgreSQL: then ``VACUUM ANALYZE``)."""
    span = days * 86400
    errors = error_entries(now)
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            conn.execute(
                SQLITE_SEED,
                {
                    "n": n,
                    "now": now.timestamp(),
                    "span": span,
                    "queues": json.dumps(QUEUES),
                    "errors": errors,
                },
            )
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        params = {"n": n, "now": now, "span": span, "queues": list(QUEUES), "errors": errors}
        conn.execute(POSTGRES_SEED.encode(), params)
        conn.execute("VACUUM ANALYZE")


def explain(url: str, sql: str, params: dict[str, Any], analyze: bool = True) -> str:
    """The plan, indented; PostgreSQL's with actual times unless ``analyze`` is off (a write)."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as lite:
            rows = lite.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(f"    {row[3]}" for row in rows)
    import psycopg

    how = "(ANALYZE, BUFFERS)" if analyze else "(COSTS OFF)"
    with psycopg.connect(url) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute(f"EXPLAIN {how} {sql}".encode(), params)
        return "\n".join(f"    {row[0]}" for row in cur.fetchall())
