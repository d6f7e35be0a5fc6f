"""Conformance: runs claimed ahead of a queue's concurrency room (``ClaimParams.ahead``).

Such runs are ``running`` on their node but not started (``started_at`` None) and hold no
place: the queue's room counts started runs only. One starts in the place of a run of its
queue that ended on the node, the start written with that run's outcome, so the queue's
count never drops in between. A rescue gives them back unattempted. Both backends, through
both limited claims: the one of a worker whose jobs have no limits (queue limits only) and
the one of a worker serving a limited job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from rota.runs import Run, RunState
from rota.storage.base import (
    ClaimParams,
    LimitedJob,
    Outcome,
    RescueParams,
    Started,
    Store,
)
from rota.storage.queue_store import QueueLimitsParams

from .support import LEASE, NODE, OTHER_NODE, T0, at, get, insert, new_run, succeeded

# "plain" has no limits of its own; with "keyed" defined too, the worker claims through the
# claim of limited jobs (candidates read, then admitted in Python)
PATHS = {"queue-only": (), "with-limited-job": (LimitedJob("keyed", concurrency=5),)}


@pytest.fixture(params=sorted(PATHS))
def limited(request: pytest.FixtureRequest) -> tuple[LimitedJob, ...]:
    return PATHS[str(request.param)]


def cap(store: Store, queue: str, concurrency: int, rate: tuple[int, float] | None = None) -> None:
    store.queue_set_limits(
        QueueLimitsParams(
            queue,
            T0,
            set_concurrency=True,
            concurrency=concurrency,
            set_rate=rate is not None,
            rate_limit=None if rate is None else rate[0],
            rate_period=None if rate is None else rate[1],
        )
    )


def take(
    store: Store,
    limited: Sequence[LimitedJob],
    *,
    slots: int,
    ahead: int = 0,
    node: str = NODE,
    now: datetime = T0,
    finish: Sequence[Outcome] = (),
    started: Sequence[Started] = (),
    placed: Sequence[str] = (),
) -> list[Run]:
    return store.runs_claim(
        ClaimParams(
            node_id=node,
            queues=None,
            limit=slots + ahead,
            now=now,
            lease_until=now + LEASE,
            finish=finish,
            jobs=["plain"],
            limited=limited,
            limited_slots=slots,
            queue_limits=True,
            started=started,
            ahead=ahead,
            placed_queues=placed,
        )
    ).claimed


def split(runs: list[Run]) -> tuple[list[int], list[int]]:
    """(started, claimed ahead) ids."""
    return (
        [r.id for r in runs if r.started_at is not None],
        [r.id for r in runs if r.started_at is None],
    )


def test_runs_past_the_room_are_claimed_not_started(
    store: Store, limited: tuple[LimitedJob, ...]
) -> None:
    cap(store, "capped", 2)
    ids = insert(store, *[new_run("plain", queue="capped") for _ in range(6)])
    placed, ahead = split(take(store, limited, slots=2, ahead=3))
    assert placed == ids[:2] and ahead == ids[2:5]
    for run_id in ahead:
        run = get(store, run_id)
        assert run.state is RunState.RUNNING and run.started_at is None and run.attempt == 1
    assert get(store, ids[5]).state is RunState.QUEUED


def test_runs_claimed_ahead_hold_no_place_but_take_none_from_another_node(
    store: Store, limited: tuple[LimitedJob, ...]
) -> None:
    cap(store, "capped", 2)
    insert(store, *[new_run("plain", queue="capped") for _ in range(6)])
    first = take(store, limited, slots=2, ahead=3)
    # the room is 2 less 2 started: nothing for another node, ahead or not
    assert take(store, limited, slots=2, ahead=3, node=OTHER_NODE, now=at(1)) == []
    # one of the started ends without a follower: its place goes to the other node
    done = next(r for r in first if r.started_at is not None)
    take(store, limited, slots=0, node=NODE, now=at(2), finish=[succeeded(done, at(2))])
    other = take(store, limited, slots=2, node=OTHER_NODE, now=at(2))
    assert len(other) == 1 and other[0].started_at is not None


def test_a_place_moves_to_a_run_claimed_ahead_with_the_outcome(
    store: Store, limited: tuple[LimitedJob, ...]
) -> None:
    cap(store, "capped", 2)
    insert(store, *[new_run("plain", queue="capped") for _ in range(6)])
    first = take(store, limited, slots=2, ahead=3)
    done = next(r for r in first if r.started_at is not None)
    follower = next(r for r in first if r.started_at is None)
    moved = Started(follower.id, follower.attempt, at(3))
    # the node claims nothing more itself (slots 0), it only writes the end and the start
    take(store, limited, slots=0, now=at(3), finish=[succeeded(done, at(3))], started=[moved])
    assert get(store, done.id).state is RunState.SUCCEEDED
    assert get(store, follower.id).started_at == at(3)
    # still two started runs: the other node finds no room
    assert take(store, limited, slots=2, node=OTHER_NODE, now=at(4)) == []


def test_a_start_is_written_only_for_the_node_holding_the_run(store: Store) -> None:
    cap(store, "capped", 1)
    insert(store, *[new_run("plain", queue="capped") for _ in range(3)])
    _, [ahead, *_] = split(take(store, (), slots=1, ahead=2))
    run = get(store, ahead)
    take(store, (), slots=0, node=OTHER_NODE, started=[Started(ahead, run.attempt, at(1))])
    take(store, (), slots=0, started=[Started(ahead, run.attempt + 1, at(1))])  # stale attempt
    assert get(store, ahead).started_at is None


def test_more_is_claimed_ahead_only_where_the_node_holds_places(
    store: Store, limited: tuple[LimitedJob, ...]
) -> None:
    cap(store, "capped", 1)
    insert(store, *[new_run("plain", queue="capped") for _ in range(6)])
    take(store, limited, slots=1, ahead=1)
    # no room left: runs claimed ahead only by a node with a started run there
    assert take(store, limited, slots=1, ahead=2, now=at(1)) == []
    more = take(store, limited, slots=1, ahead=2, now=at(1), placed=["capped"])
    assert split(more) == ([], [r.id for r in more]) and len(more) == 2


def test_a_rate_limit_counts_runs_claimed_ahead(
    store: Store, limited: tuple[LimitedJob, ...]
) -> None:
    cap(store, "capped", 1, rate=(3, 60.0))
    insert(store, *[new_run("plain", queue="capped") for _ in range(6)])
    placed, ahead = split(take(store, limited, slots=1, ahead=5))
    assert len(placed) == 1 and len(ahead) == 2  # 3 starts in the window, whatever the ahead
    assert take(store, limited, slots=1, ahead=5, now=at(1), placed=["capped"]) == []


def test_a_rescued_run_claimed_ahead_goes_back_unattempted(store: Store) -> None:
    cap(store, "capped", 1)
    insert(store, *[new_run("plain", queue="capped") for _ in range(2)])
    [placed], [ahead] = split(take(store, (), slots=1, ahead=1))
    rescued = {r.id: r for r in store.runs_rescue(RescueParams(now=T0 + LEASE + LEASE))}
    assert set(rescued) == {placed, ahead}
    started, waiting = get(store, placed), get(store, ahead)
    assert (started.state, started.attempt) == (RunState.QUEUED, 1)
    assert [e["type"] for e in started.errors] == ["WorkerLost"]  # its attempt counts
    assert (waiting.state, waiting.attempt, waiting.errors) == (RunState.QUEUED, 0, [])


def plain(store: Store, *, limit: int, slots: int, now: datetime = T0) -> list[Run]:
    return store.runs_claim(
        ClaimParams(NODE, None, limit, now, now + LEASE, jobs=["plain"], slots=slots)
    ).claimed


def test_the_claim_past_the_free_slots_is_not_started(store: Store) -> None:
    ids = insert(store, *[new_run("plain") for _ in range(5)])
    claimed = plain(store, limit=4, slots=1)
    assert split(claimed) == (ids[:1], ids[1:4])
    assert [get(store, i).started_at for i in ids[1:4]] == [None] * 3
    assert all(get(store, i).state is RunState.RUNNING for i in ids[:4])


def test_a_start_goes_with_the_outcome_or_on_its_own(store: Store) -> None:
    insert(store, *[new_run("plain") for _ in range(3)])
    _, [a, b] = split(plain(store, limit=3, slots=1))
    ran = succeeded(get(store, a), at(2))._replace(started_at=at(1))
    moved = Started(b, get(store, b).attempt, at(1.5))
    plain_end = store.runs_claim(
        ClaimParams(NODE, None, 0, at(2), at(2) + LEASE, finish=[ran], started=[moved])
    )
    assert plain_end.refused == []
    assert (get(store, a).state, get(store, a).started_at) == (RunState.SUCCEEDED, at(1))
    assert get(store, b).started_at == at(1.5)


def test_an_outcome_never_moves_a_start_already_written(store: Store) -> None:
    [run_id] = insert(store, new_run("plain"))
    [run] = plain(store, limit=1, slots=1)
    ended = succeeded(run, at(2))._replace(started_at=at(1))
    store.runs_claim(ClaimParams(NODE, None, 0, at(2), at(2) + LEASE, finish=[ended]))
    assert get(store, run_id).started_at == T0


def test_a_rescue_gives_back_the_runs_never_started_unattempted(store: Store) -> None:
    insert(store, *[new_run("plain") for _ in range(3)])
    [first], ahead = split(plain(store, limit=3, slots=1))
    store.runs_rescue(RescueParams(now=T0 + LEASE + LEASE))
    assert get(store, first).attempt == 1 and len(get(store, first).errors) == 1
    for run_id in ahead:
        run = get(store, run_id)
        assert (run.state, run.attempt, run.errors) == (RunState.QUEUED, 0, [])
