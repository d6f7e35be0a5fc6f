"""The limited claim against other PostgreSQL transactions: isolation and lock waits.

SQLite serializes every writer on BEGIN IMMEDIATE, so these interleavings cannot happen there;
on PostgreSQL they are forced with a transaction that holds the job's advisory lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from rota.storage import open_store
from rota.storage.admitting import lock_key
from rota.storage.base import CancelParams, ClaimParams, LimitedJob, Store

from .support import LEASE, at, insert, succeeded
from .test_limits import claim_limited, keyed


@pytest.fixture
def pg(backend: str, database_url: str) -> str:
    if backend != "postgres":
        pytest.skip("SQLite serializes writers: no claim runs beside another")
    return database_url


def holding_the_job_lock(url: str, job: str) -> psycopg.Connection:
    """A transaction holding ``job``'s claim lock until it is rolled back."""
    conn = psycopg.connect(url)
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(job),))
    return conn


def waiting(url: str, n: int, kind: str) -> bool:
    """True once ``n`` sessions of this test database wait on a lock of that kind (advisory,
    transactionid: a row); other databases' sessions (other test processes) are not counted."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted AND pid IN"
            " (SELECT pid FROM pg_stat_activity WHERE datname = current_database())",
            (kind,),
        ).fetchone()
    return row is not None and int(row[0]) >= n


def wait_for(url: str, n: int, kind: str = "advisory") -> None:
    deadline = time.monotonic() + 10
    while not waiting(url, n, kind):
        assert time.monotonic() < deadline, f"nobody waited on a lock of kind {kind}"
        time.sleep(0.02)


@pytest.fixture
def repeatable_read(pg: str) -> Iterator[Store]:
    """A store on a database whose default isolation is REPEATABLE READ."""
    name = pg.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'")
    store = open_store(pg)
    store.migrate()
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} RESET default_transaction_isolation")


def test_two_claims_waiting_on_the_lock_start_one_run_of_a_limit_of_one(
    repeatable_read: Store, pg: str
) -> None:
    store = repeatable_read
    job = [LimitedJob("sync", concurrency=1)]
    insert(store, keyed("sync", '"g"', queue="q1"), keyed("sync", '"g"', queue="q2"))
    blocker = holding_the_job_lock(pg, "sync")
    claimed: list[int] = []

    def claim(node: str, queue: str) -> None:
        params = ClaimParams(
            node_id=node, queues=[queue], limit=1, now=at(1), lease_until=at(1) + LEASE,
            jobs=(), limited=job, limited_slots=1,
        )  # fmt: skip
        claimed.extend(r.id for r in store.runs_claim(params).claimed)

    threads = [threading.Thread(target=claim, args=a) for a in (("n1", "q1"), ("n2", "q2"))]
    for t in threads:
        t.start()
    wait_for(pg, 2)
    blocker.rollback()
    blocker.close()
    for t in threads:
        t.join(20)
    assert len(claimed) == 1, claimed


def test_a_bulk_cancel_and_a_limited_claim_do_not_deadlock(store: Store, pg: str) -> None:
    job = [LimitedJob("sync", concurrency=5)]
    [queued] = insert(store, keyed("sync", '"a"'))
    [running_id] = insert(store, keyed("sync", '"b"', priority=-1), now=at(1))
    [running] = claim_limited(store, job, slots=1, now=at(1))
    assert running.id == running_id and queued < running_id
    blocker = holding_the_job_lock(pg, "sync")
    errors: list[BaseException] = []

    def claimer() -> None:  # writes its outcome (locks the running row), then waits on the lock
        try:
            claim_limited(store, job, slots=5, now=at(3), finish=[succeeded(running, at(3))])
        except BaseException as exc:
            errors.append(exc)

    def canceller() -> None:  # locks the queued row, then waits on the running one
        try:
            store.runs_cancel(CancelParams((queued, running_id), at(3)))
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=claimer)
    first.start()
    wait_for(pg, 1)
    second = threading.Thread(target=canceller)
    second.start()
    wait_for(pg, 1, "transactionid")  # the cancel holds the queued row, waits on the other
    blocker.rollback()
    blocker.close()
    first.join(20)
    second.join(20)
    assert not errors, errors
