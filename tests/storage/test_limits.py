"""Conformance: the claim of limited jobs' runs (concurrency per group, rate windows, fairness)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from rota.runs import Run, RunState
from rota.storage.base import ClaimParams, LimitedJob, NewRun, Outcome, RescueParams, Store

from .support import LEASE, NODE, T0, at, get, insert, new_run, retrying, succeeded


def keyed(job: str, group: str | None, rate: str | None = None, **kw: object) -> NewRun:
    run = new_run(job, **kw)  # type: ignore[arg-type]
    return dataclasses.replace(run, concurrency_group=group, rate_group=rate)


def claim_limited(
    store: Store,
    limited: Sequence[LimitedJob],
    *,
    slots: int = 10,
    limit: int | None = None,
    jobs: Sequence[str] = (),
    now: datetime = T0,
    finish: Sequence[Outcome] = (),
    node: str = NODE,
) -> list[Run]:
    return store.runs_claim(
        ClaimParams(
            node_id=node,
            queues=None,
            limit=slots if limit is None else limit,
            now=now,
            lease_until=now + LEASE,
            finish=finish,
            jobs=jobs,
            limited=limited,
            limited_slots=slots,
        )
    ).claimed


PER_KEY = [LimitedJob("sync", concurrency=1)]


def test_concurrency_per_group_claims_one_per_group(store: Store) -> None:
    a = insert(store, *[keyed("sync", '"a"') for _ in range(3)])
    b = insert(store, *[keyed("sync", '"b"') for _ in range(2)])

    first = claim_limited(store, PER_KEY)
    assert sorted(r.id for r in first) == [a[0], b[0]]
    assert claim_limited(store, PER_KEY) == []  # both groups full; the rest stay queued
    assert get(store, a[1]).state is RunState.QUEUED


def test_a_finished_run_frees_its_place_in_the_same_claim(store: Store) -> None:
    a = insert(store, *[keyed("sync", '"a"') for _ in range(2)])
    [run] = claim_limited(store, PER_KEY)
    assert run.id == a[0]

    [nxt] = claim_limited(store, PER_KEY, now=at(1), finish=[succeeded(run, at(1))])
    assert nxt.id == a[1]
    assert get(store, a[0]).state is RunState.SUCCEEDED


def test_a_rescued_run_frees_its_place(store: Store) -> None:
    a = insert(store, *[keyed("sync", '"a"') for _ in range(2)])
    claim_limited(store, PER_KEY)
    assert claim_limited(store, PER_KEY, now=at(5)) == []

    rescued = store.runs_rescue(RescueParams(now=T0 + LEASE + LEASE))
    assert [r.id for r in rescued] == [a[0]]
    again = claim_limited(store, PER_KEY, now=T0 + LEASE + LEASE)
    assert [r.id for r in again] == [a[0]]  # back in claim order, ahead of a[1]


def test_job_wide_concurrency_counts_every_run_of_the_job(store: Store) -> None:
    insert(store, *[keyed("sync", "") for _ in range(5)])
    limited = [LimitedJob("sync", concurrency=3)]
    assert len(claim_limited(store, limited)) == 3
    assert claim_limited(store, limited) == []


def test_a_burst_of_one_group_does_not_hold_up_another(store: Store) -> None:
    insert(store, *[keyed("sync", '"a"') for _ in range(200)])
    late = insert(store, keyed("sync", '"b"'))[0]

    claim_limited(store, PER_KEY, slots=1)  # a's first run
    second = claim_limited(store, PER_KEY, slots=1)
    assert [r.id for r in second] == [late]


def test_fair_turns_across_groups(store: Store) -> None:
    insert(store, *[keyed("sync", '"a"') for _ in range(6)])
    b = insert(store, *[keyed("sync", '"b"') for _ in range(2)])
    limited = [LimitedJob("sync", concurrency=5)]

    got = claim_limited(store, limited, slots=4)
    groups = sorted(r.id in b for r in got)
    assert groups == [False, False, True, True]  # b's two runs take turns with a's


def test_rate_limit_holds_in_any_window(store: Store) -> None:
    insert(store, *[keyed("ping", None, "") for _ in range(10)])
    limited = [LimitedJob("ping", rate_limit=3, rate_period=10.0)]

    assert len(claim_limited(store, limited, now=at(0))) == 3
    assert claim_limited(store, limited, now=at(5)) == []
    assert claim_limited(store, limited, now=at(9.9)) == []
    assert len(claim_limited(store, limited, now=at(10))) == 3  # the first starts expired


def test_rate_limit_per_group_and_retries_count_as_starts(store: Store) -> None:
    a = insert(store, *[keyed("ping", None, '"a"', max_attempts=3) for _ in range(2)])
    insert(store, keyed("ping", None, '"b"'))
    limited = [LimitedJob("ping", rate_limit=1, rate_period=60.0)]

    first = claim_limited(store, limited)
    assert len(first) == 2  # one of a, one of b
    run = get(store, a[0])
    claim_limited(store, limited, now=at(1), finish=[retrying(run, at(1), at(1))])
    assert get(store, a[0]).state is RunState.RETRYING
    assert claim_limited(store, limited, now=at(2)) == []  # a's window still holds its start


def test_unlimited_jobs_fill_the_rest_of_the_limit(store: Store) -> None:
    insert(store, *[keyed("sync", '"a"') for _ in range(3)])
    free = insert(store, *[new_run("plain") for _ in range(3)])

    got = claim_limited(store, PER_KEY, slots=4, limit=4, jobs=["plain"])
    assert len(got) == 4
    assert sum(r.job == "plain" for r in got) == 3
    assert all(get(store, i).state is RunState.RUNNING for i in free)


def test_limited_slots_bound_the_limited_claim(store: Store) -> None:
    insert(store, *[keyed("sync", f'"{k}"') for k in range(5)])
    got = claim_limited(store, PER_KEY, slots=2, limit=10)
    assert len(got) == 2


def test_groups_of_jobs_whose_names_share_a_prefix_stay_apart(store: Store) -> None:
    # 'a' with group '1:' and 'a:1' with group '' must not be one scope, whatever the names
    insert(store, keyed("a", "1:", "1:"), keyed("a", "1:", "1:"))
    other = insert(store, keyed("a:1", "", ""))[0]
    limited = [
        LimitedJob("a", concurrency=1, rate_limit=1, rate_period=60.0),
        LimitedJob("a:1", concurrency=1, rate_limit=1, rate_period=60.0),
    ]
    got = claim_limited(store, limited)
    assert len(got) == 2 and other in {r.id for r in got}


def test_priority_orders_limited_and_unlimited_runs_alike(store: Store) -> None:
    plain = insert(store, new_run("plain", priority=5))[0]
    urgent = insert(store, keyed("sync", '"a"', priority=-5))[0]
    got = claim_limited(store, PER_KEY, slots=1, limit=1, jobs=["plain"])
    assert [r.id for r in got] == [urgent]
    got = claim_limited(store, PER_KEY, slots=1, limit=1, jobs=["plain"])
    assert [r.id for r in got] == [plain]
