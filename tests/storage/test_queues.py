"""Conformance: stored queues (pause, limits), their listing with counts, and the claim leaving
a paused queue's runs where they are, both backends."""

from __future__ import annotations

import pytest

from rota.runs import RunState
from rota.storage.base import CancelParams, ClaimParams, Store
from rota.storage.queue_store import QueueLimitsParams, QueueListParams, QueuePauseParams

from .support import LEASE, NODE, T0, at, claim, get, insert, new_run


def listed(store: Store, *, limit: int = 100, cap: int = 1000, after: str | None = None) -> dict:
    return {q.name: q for q in store.queues_list(QueueListParams(limit, cap, after))}


def pause(store: Store, name: str, paused: bool = True) -> None:
    store.queue_set_paused(QueuePauseParams(name, paused, T0))


def test_a_queue_is_listed_once_it_has_runs_or_a_row(store: Store) -> None:
    assert listed(store) == {}
    insert(store, new_run(queue="mail"), new_run(queue="mail", run_at=at(60)))
    pause(store, "reports")
    queues = listed(store)
    assert sorted(queues) == ["mail", "reports"]
    mail = queues["mail"]
    assert (mail.paused, mail.concurrency, mail.rate_limit, mail.rate_period) == (
        False,
        None,
        None,
        None,
    )
    assert (mail.queued, mail.running, mail.oldest_due) == (1, 0, T0)  # one is scheduled
    assert queues["reports"].paused and queues["reports"].queued == 0
    assert queues["reports"].oldest_due is None


def test_counts_of_queued_and_running_and_the_oldest_due(store: Store) -> None:
    insert(store, new_run(queue="a"), now=at(0))
    insert(store, new_run(queue="a"), new_run(queue="a"), now=at(5))
    claim(store, limit=1, queues=["a"])
    a = listed(store)["a"]
    assert (a.queued, a.running) == (2, 1)
    assert a.oldest_due == at(5)  # the first one runs now
    capped = listed(store, cap=1)["a"]
    assert (capped.queued, capped.running) == (1, 1)


def test_queues_of_ended_runs_are_still_listed(store: Store) -> None:
    [run_id] = insert(store, new_run(queue="old"))
    store.runs_cancel(CancelParams([run_id], T0))
    assert get(store, run_id).state is RunState.CANCELLED
    assert listed(store)["old"].queued == 0


def test_listing_pages_by_name_across_runs_and_rows(store: Store) -> None:
    insert(store, *(new_run(queue=q) for q in ("b", "d", "f")))
    for q in ("a", "c", "d", "e"):
        pause(store, q)
    assert list(listed(store, limit=3)) == ["a", "b", "c"]
    assert list(listed(store, limit=3, after="c")) == ["d", "e", "f"]
    assert list(listed(store, limit=3, after="f")) == []
    assert list(listed(store)) == ["a", "b", "c", "d", "e", "f"]


def test_pause_and_resume_keep_the_limits(store: Store) -> None:
    store.queue_set_limits(
        QueueLimitsParams(
            "mail",
            T0,
            set_concurrency=True,
            concurrency=3,
            set_rate=True,
            rate_limit=10,
            rate_period=60.0,
        )
    )
    pause(store, "mail")
    q = store.queue_get("mail", 10)
    assert (q.paused, q.concurrency, q.rate_limit, q.rate_period) == (True, 3, 10, 60.0)
    pause(store, "mail", paused=False)
    q = store.queue_get("mail", 10)
    assert (q.paused, q.concurrency, q.rate_limit, q.rate_period) == (False, 3, 10, 60.0)


def test_limits_left_out_are_unchanged_and_none_clears(store: Store) -> None:
    store.queue_set_limits(QueueLimitsParams("q", T0, set_concurrency=True, concurrency=4))
    store.queue_set_limits(
        QueueLimitsParams("q", at(1), set_rate=True, rate_limit=5, rate_period=1.5)
    )
    q = store.queue_get("q", 10)
    assert (q.concurrency, q.rate_limit, q.rate_period) == (4, 5, 1.5)
    store.queue_set_limits(QueueLimitsParams("q", at(2), set_concurrency=True, concurrency=None))
    q = store.queue_get("q", 10)
    assert (q.concurrency, q.rate_limit, q.rate_period) == (None, 5, 1.5)
    store.queue_set_limits(QueueLimitsParams("q", at(3), set_rate=True))
    q = store.queue_get("q", 10)
    assert (q.concurrency, q.rate_limit, q.rate_period) == (None, None, None)


def test_a_queue_never_used_reads_as_defaults(store: Store) -> None:
    q = store.queue_get("nobody", 10)
    assert (q.name, q.paused, q.concurrency, q.queued, q.running) == ("nobody", False, None, 0, 0)
    assert listed(store) == {}


def test_queues_paused_names_the_paused_ones_among_those_asked(store: Store) -> None:
    pause(store, "a")
    pause(store, "b")
    pause(store, "b", paused=False)
    assert store.queues_paused(["a", "b", "c"]) == ["a"]
    assert store.queues_paused([]) == []


@pytest.mark.parametrize("queues", [None, ["mail", "reports"]])
def test_claims_leave_a_paused_queues_runs_queued(store: Store, queues: list[str] | None) -> None:
    mail, reports = insert(
        store, new_run(queue="mail", priority=-1), new_run(queue="reports"), now=T0
    )
    pause(store, "mail")
    assert [r.id for r in claim(store, queues=queues)] == [reports]
    assert get(store, mail).state is RunState.QUEUED and get(store, mail).attempt == 0
    pause(store, "mail", paused=False)
    assert [r.id for r in claim(store, queues=queues)] == [mail]


def test_a_claim_by_id_runs_a_run_of_a_paused_queue(store: Store) -> None:
    [run_id] = insert(store, new_run(queue="mail"))
    pause(store, "mail")
    assert [r.id for r in claim(store, run_id=run_id)] == [run_id]


def test_limits_alone_do_not_pause(store: Store) -> None:
    [run_id] = insert(store, new_run(queue="mail"))
    store.queue_set_limits(QueueLimitsParams("mail", T0, set_concurrency=True, concurrency=1))
    # the one-statement claim leaves a limited queue's runs and says so (rota.storage.admitting);
    # the claim a worker makes then, under the queue limits, starts the run
    first = store.runs_claim(ClaimParams(NODE, None, 10, T0, T0 + LEASE))
    assert first.claimed == [] and first.queue_limits
    again = store.runs_claim(ClaimParams(NODE, None, 10, T0, T0 + LEASE, queue_limits=True))
    assert [r.id for r in again.claimed] == [run_id]
