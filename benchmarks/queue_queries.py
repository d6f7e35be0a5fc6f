"""The queue listing and the claim around a paused queue, on a table of --runs runs: on demand.

    python benchmarks/queue_queries.py --database sqlite:////tmp/bench-queues.db
    python benchmarks/queue_queries.py \\
        --database postgresql://postgres@127.0.0.1:5432/rota_bench_queues

Seeds the runs table as ``overview_queries.py`` does (a million runs, mostly ended, a backlog
of queued runs in five queues), then prints the median and worst time of: the queue listing
(``app.queues.list``'s store verb) with no stored queue and with a thousand stored ones; a claim
of 10 runs with no paused queue (baseline, same run) and with ``default`` paused (most queued
runs, interleaved with the others); and a claim behind --held runs of a paused queue that sort
before every other queued run (a lower priority number), the worst case: the claim's index walk
steps over each of them. Claims are made and handed back each time, so the table stays as seeded.
The database is emptied first: never point it at data you want to keep.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

from overview_queries import report, seed  # benchmarks/ is on sys.path when this file is run
from throughput import reset

from rota.runs import RunState
from rota.runs_summary import COUNT_CAP
from rota.storage import open_store
from rota.storage.base import ClaimParams, InsertParams, NewRun, ReleaseParams, Store
from rota.storage.queue_store import QueueListParams, QueuePauseParams


def claim_and_release(store: Store, now: datetime, limit: int = 10) -> int:
    lease = now + timedelta(seconds=30)
    claimed = store.runs_claim(ClaimParams("bench", None, limit, now, lease)).claimed
    store.runs_release(ReleaseParams("bench", [(r.id, r.attempt) for r in claimed], now))
    return len(claimed)


def held_runs(store: Store, count: int, now: datetime) -> None:
    for start in range(0, count, 10_000):
        batch = [
            NewRun(
                job="job_held",
                args={},
                queue="held",
                priority=-1,
                max_attempts=3,
                run_at=now,
                state=RunState.QUEUED,
            )
            for _ in range(min(10_000, count - start))
        ]
        store.runs_insert_many(InsertParams(batch, now))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--held", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url, now = args.database, datetime.now(UTC)
    reset(url)
    store = open_store(url)
    store.migrate()
    start = time.perf_counter()
    seed(url, args.runs, now, 7.0)
    print(f"seeded {args.runs} runs in {time.perf_counter() - start:.0f} s", flush=True)

    def listing() -> object:
        return store.queues_list(QueueListParams(1000, COUNT_CAP))

    report("queues_list (5 queues in use)", listing, args.repeat)
    for i in range(1000):
        store.queue_set_paused(QueuePauseParams(f"stored-{i:04d}", False, now))
    report("queues_list (5 in use + 1000 stored, a page of 1000)", listing, args.repeat)
    report("claim 10 + release, no queue paused", lambda: claim_and_release(store, now), 20)
    store.queue_set_paused(QueuePauseParams("default", True, now))
    report("claim 10 + release, 'default' paused", lambda: claim_and_release(store, now), 20)
    store.queue_set_paused(QueuePauseParams("default", False, now))
    held_runs(store, args.held, now)
    store.queue_set_paused(QueuePauseParams("held", True, now))
    report(
        f"claim 10 + release behind {args.held} runs of a paused queue",
        lambda: claim_and_release(store, now),
        20,
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
