"""Conformance: the claim of limited jobs' runs (concurrency per group, rate windows, fairness)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from rota.runs import Run, RunState
from rota.storage.base import ClaimParams, LimitedJob, NewRun, Outcome, RescueParams, Store
from rota.storage.queue_store import QueueLimitsParams, QueuePauseParams

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


def test_a_job_wide_limit_counts_runs_launched_with_keys(store: Store) -> None:
    # Launched while the job was limited per customer; the new version limits it job-wide.
    insert(store, keyed("sync", '"a"'), keyed("sync", '"b"'), keyed("sync", ""))
    job_wide = [LimitedJob("sync", concurrency=1, concurrency_keyed=False)]
    assert len(claim_limited(store, job_wide)) == 1
    assert claim_limited(store, job_wide, now=at(1)) == []
    per_key = [LimitedJob("sync", concurrency=1)]  # the groups count again once keyed
    assert len(claim_limited(store, per_key, now=at(2))) == 2


def test_a_job_wide_rate_counts_starts_of_runs_launched_with_keys(store: Store) -> None:
    insert(store, *[keyed("ping", None, f'"{key}"') for key in "abc"])
    job_wide = [LimitedJob("ping", rate_limit=2, rate_period=60.0, rate_keyed=False)]
    assert len(claim_limited(store, job_wide)) == 2
    assert claim_limited(store, job_wide, now=at(1)) == []


def test_the_sweep_forgets_expired_starts_of_keys_never_started_again(store: Store) -> None:
    insert(store, *[keyed("ping", None, f'"{key}"') for key in "abc"])
    limited = [LimitedJob("ping", rate_limit=1, rate_period=10.0)]
    assert len(claim_limited(store, limited, now=at(0))) == 3  # a start logged for each key

    assert store.rate_starts_prune(at(9.9)) == 0  # their windows are still open
    assert store.rate_starts_prune(at(10), limit=2) == 2  # in batches
    assert store.rate_starts_prune(at(10)) == 1
    assert store.rate_starts_prune(at(3600)) == 0

    insert(store, keyed("ping", None, '"a"'), keyed("ping", None, '"a"'), now=at(20))
    assert len(claim_limited(store, limited, now=at(20))) == 1  # the limit holds as before


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


# -- queue limits -----------------------------------------------------------------------


def set_queue(
    store: Store, name: str, concurrency: int | None = None, rate: tuple[int, float] | None = None
) -> None:
    store.queue_set_limits(
        QueueLimitsParams(
            name,
            T0,
            set_concurrency=True,
            concurrency=concurrency,
            set_rate=True,
            rate_limit=None if rate is None else rate[0],
            rate_period=None if rate is None else rate[1],
        )
    )


def fast_claim(store: Store, limit: int = 10, now: datetime = T0) -> tuple[list[Run], bool]:
    result = store.runs_claim(ClaimParams(NODE, None, limit, now, now + LEASE, jobs=["plain"]))
    return result.claimed, result.queue_limits


def test_the_one_statement_claim_leaves_limited_queues_and_says_so(store: Store) -> None:
    insert(store, *[new_run("plain", queue="capped") for _ in range(3)])
    free = insert(store, new_run("plain", queue="open"))[0]
    assert fast_claim(store, limit=0)[1] is False
    set_queue(store, "capped", concurrency=2)

    claimed, queue_limits = fast_claim(store)
    assert [r.id for r in claimed] == [free] and queue_limits is True


def test_queue_concurrency_holds_in_the_limited_claim(store: Store) -> None:
    capped = insert(store, *[new_run("plain", queue="capped") for _ in range(3)])
    set_queue(store, "capped", concurrency=2)
    params = ClaimParams(NODE, None, 10, T0, T0 + LEASE, jobs=["plain"], queue_limits=True)

    first = store.runs_claim(params)
    assert sorted(r.id for r in first.claimed) == capped[:2] and first.queue_limits
    assert store.runs_claim(params).claimed == []
    done = [succeeded(r, at(1)) for r in first.claimed[:1]]
    again = store.runs_claim(dataclasses.replace(params, now=at(1), finish=done))
    assert [r.id for r in again.claimed] == [capped[2]]

    set_queue(store, "capped")  # no limits left: the claim says so
    assert store.runs_claim(params).queue_limits is False


def test_a_full_queue_backlog_does_not_hide_another_queue_s_runs(store: Store) -> None:
    capped = insert(store, *[new_run("plain", queue="capped") for _ in range(5)])
    first = insert(store, new_run("plain", queue="open"))
    set_queue(store, "capped", concurrency=1)
    params = ClaimParams(NODE, None, 10, T0, T0 + LEASE, jobs=["plain"], queue_limits=True)

    assert sorted(r.id for r in store.runs_claim(params).claimed) == [capped[0], *first]
    assert store.runs_claim(params).claimed == []  # capped full, nothing else waits
    later = insert(store, new_run("plain", queue="open"))
    assert [r.id for r in store.runs_claim(params).claimed] == later


def test_a_queue_rate_limit_alone_holds_and_leaves_other_queues_free(store: Store) -> None:
    rated = insert(store, *[new_run("plain", queue="rated") for _ in range(5)])
    free = insert(store, *[new_run("plain", queue="open") for _ in range(2)])
    set_queue(store, "rated", rate=(3, 10.0))
    params = ClaimParams(NODE, None, 10, T0, T0 + LEASE, jobs=["plain"], queue_limits=True)

    first = store.runs_claim(params).claimed
    assert sorted(r.id for r in first) == sorted(rated[:3] + free)
    assert store.runs_claim(dataclasses.replace(params, now=at(5))).claimed == []
    later = store.runs_claim(dataclasses.replace(params, now=at(10))).claimed
    assert sorted(r.id for r in later) == rated[3:]  # the first starts left the window


def test_limited_queues_take_turns_in_one_claim(store: Store) -> None:
    first = insert(store, *[new_run("plain", queue="a") for _ in range(4)])
    second = insert(store, *[new_run("plain", queue="b") for _ in range(4)])
    set_queue(store, "a", concurrency=5)
    set_queue(store, "b", concurrency=5)
    params = ClaimParams(NODE, None, 4, T0, T0 + LEASE, jobs=["plain"], queue_limits=True)

    claimed = sorted(r.id for r in store.runs_claim(params).claimed)
    assert claimed == first[:2] + second[:2]  # each queue's first runs before any one's third


def test_queue_rate_and_job_limits_apply_together(store: Store) -> None:
    insert(store, *[keyed("sync", f'"{k}"', queue="rated") for k in range(6)])
    set_queue(store, "rated", rate=(4, 10.0))
    got = claim_limited(store, PER_KEY, slots=10)
    assert got == []  # queue_limits not known yet: a plain limited claim still leaves them
    params = ClaimParams(
        NODE, None, 10, T0, T0 + LEASE, jobs=[], limited=PER_KEY, limited_slots=10,
        queue_limits=True,
    )  # fmt: skip
    assert len(store.runs_claim(params).claimed) == 4
    assert store.runs_claim(dataclasses.replace(params, now=at(5))).claimed == []
    assert len(store.runs_claim(dataclasses.replace(params, now=at(10))).claimed) == 2


def test_a_paused_queue_starts_nothing_in_the_limited_claim(store: Store) -> None:
    insert(store, keyed("sync", '"a"', queue="held"))
    store.queue_set_paused(QueuePauseParams("held", True, T0))
    assert claim_limited(store, PER_KEY) == []
