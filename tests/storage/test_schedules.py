"""Conformance: schedules, their compare-and-set fires and their fire history, both backends."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from rota.runs import RunState
from rota.scheduling.model import FireRecord, Schedule
from rota.storage import open_store
from rota.storage.base import FinishParams, FireParams, ListParams, Store

from .support import NODE, OTHER_NODE, T0, at, claim, insert, new_run, succeeded

EVERY_MINUTE = {"kind": "cron", "cron": "* * * * *", "timezone": "UTC"}
EVERY_HOUR = {"kind": "cron", "cron": "0 * * * *", "timezone": "UTC"}


def schedule(
    name: str = "tick",
    *,
    next_fire: datetime | None = None,
    trigger: dict[str, Any] | None = None,
    key: str = "cron|* * * * *",
    now: datetime = T0,
    **changes: Any,
) -> Schedule:
    s = Schedule(
        name=name,
        job="report",
        kwargs={"day": 1},
        trigger=trigger or EVERY_MINUTE,
        trigger_key=key,
        misfire="run_once",
        misfire_grace=1.0,
        overlap=True,
        paused=False,
        source="stored",
        options={"queue": "reports"},
        next_fire_at=at(60) if next_fire is None else next_fire,
        created_at=now,
        updated_at=now,
    )
    return replace(s, **changes)


def fire(
    store: Store,
    expected: datetime,
    new_next: datetime | None,
    times: Sequence[datetime] = (),
    *,
    name: str = "tick",
    records: Sequence[FireRecord] = (),
    node: str = NODE,
    now: datetime | None = None,
) -> list[int] | None:
    runs = [(t, new_run("report", run_at=t, schedule=name, state=RunState.QUEUED)) for t in times]
    return store.schedule_fire(
        FireParams(
            name=name,
            expected_next=expected,
            new_next=new_next,
            runs=runs,
            records=list(records),
            node_id=node,
            now=now or max([expected, *times]),
        )
    )


def runs_of(store: Store, name: str = "tick") -> list[Any]:
    return [r for r in store.runs_list(ListParams(limit=1000)) if r.schedule == name]


def get(store: Store, name: str = "tick") -> Schedule:
    s = store.schedule_get(name)
    assert s is not None
    return s


# -- upsert ----------------------------------------------------------------------------------
def test_upsert_stores_every_field(store: Store) -> None:
    store.schedules_upsert(schedule(misfire="run_all", misfire_grace=2.5, overlap=False))
    s = get(store)
    assert s == schedule(misfire="run_all", misfire_grace=2.5, overlap=False, last_fire_at=None)
    assert store.schedules_list() == [s]
    assert store.schedule_get("nope") is None


def test_upsert_with_the_same_trigger_key_keeps_next_fire_and_trigger(store: Store) -> None:
    """A restart re-declares its schedules: an ``every`` keeps its first anchor, a fire time
    already computed stays, but the other fields follow the new definition."""
    store.schedules_upsert(schedule(trigger={**EVERY_MINUTE, "anchor": "first"}))
    fire(store, at(60), at(120), [at(60)])
    store.schedules_upsert(
        schedule(
            next_fire=at(999),
            trigger={**EVERY_MINUTE, "anchor": "second"},
            now=at(90),
            job="other",
            kwargs={"day": 2},
            misfire="skip",
            overlap=False,
            source="code",
            options={},
        )
    )
    s = get(store)
    assert s.next_fire_at == at(120)
    assert s.trigger == {**EVERY_MINUTE, "anchor": "first"}
    assert (s.job, s.kwargs, s.misfire, s.overlap, s.source, s.options) == (
        "other",
        {"day": 2},
        "skip",
        False,
        "code",
        {},
    )
    assert s.created_at == T0 and s.updated_at == at(90)
    assert s.last_fire_at == at(60)


def test_upsert_with_a_new_trigger_key_resets_next_fire_and_trigger(store: Store) -> None:
    store.schedules_upsert(schedule())
    store.schedules_upsert(
        schedule(next_fire=at(3600), trigger=EVERY_HOUR, key="cron|0 * * * *", now=at(30))
    )
    s = get(store)
    assert (s.next_fire_at, s.trigger, s.trigger_key) == (at(3600), EVERY_HOUR, "cron|0 * * * *")


def test_upsert_keeps_a_paused_schedule_paused(store: Store) -> None:
    store.schedules_upsert(schedule())
    assert store.schedule_set_paused("tick", True, at(60), at(1))
    store.schedules_upsert(schedule(now=at(2)))
    assert get(store).paused
    store.schedules_upsert(schedule(key="cron|changed", next_fire=at(500), now=at(3)))
    assert get(store).paused and get(store).next_fire_at == at(500)


# -- due -------------------------------------------------------------------------------------
def test_due_lists_unpaused_schedules_whose_time_came_oldest_first(store: Store) -> None:
    store.schedules_upsert(schedule("c", next_fire=at(30)))
    store.schedules_upsert(schedule("a", next_fire=at(10)))
    store.schedules_upsert(schedule("b", next_fire=at(20)))
    store.schedules_upsert(schedule("later", next_fire=at(100)))
    store.schedules_upsert(schedule("paused", next_fire=at(5)))
    store.schedule_set_paused("paused", True, at(5), T0)
    store.schedules_upsert(schedule("done", next_fire=at(1)))
    fire(store, at(1), None, [at(1)], name="done")  # an ``at`` trigger: no next fire

    assert [s.name for s in store.schedules_due(at(30), 10)] == ["a", "b", "c"]
    assert [s.name for s in store.schedules_due(at(30), 2)] == ["a", "b"]
    assert [s.name for s in store.schedules_due(at(29.999), 10)] == ["a", "b"]
    assert store.schedules_due(at(9), 10) == []
    assert store.schedules_next_fire() == at(10)

    store.schedule_set_paused("paused", False, at(5), T0)
    assert store.schedules_next_fire() == at(5)
    assert store.schedules_due(at(5), 10)[0].name == "paused"


def test_next_fire_is_none_without_unpaused_schedules(store: Store) -> None:
    assert store.schedules_next_fire() is None
    store.schedules_upsert(schedule())
    store.schedule_set_paused("tick", True, at(60), T0)
    assert store.schedules_next_fire() is None


# -- fire ------------------------------------------------------------------------------------
def test_fire_moves_next_fire_creates_runs_and_records_history(store: Store) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    missed = [FireRecord("tick", at(60), "missed"), FireRecord("tick", at(120), "missed")]
    ids = fire(store, at(60), at(240), [at(180)], records=missed, now=at(181))
    assert ids is not None and len(ids) == 1

    s = get(store)
    assert s.next_fire_at == at(240) and s.last_fire_at == at(181)
    [run] = runs_of(store)
    assert (run.id, run.schedule, run.run_at, run.job) == (ids[0], "tick", at(180), "report")
    history = store.schedule_fires("tick", 10)
    assert [(f.fire_time, f.outcome, f.run_id) for f in history] == [
        (at(180), "fired", ids[0]),
        (at(120), "missed", None),
        (at(60), "missed", None),
    ]
    assert all(f.node_id == NODE and f.fired_at == at(181) for f in history)
    assert [f.fire_time for f in store.schedule_fires("tick", 2)] == [at(180), at(120)]
    assert history[0].to_json()["fire_time"] == at(180).isoformat()


def test_the_second_fire_with_the_same_expected_time_gets_none_and_creates_nothing(
    store: Store,
) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    first = fire(store, at(60), at(120), [at(60)])
    again = fire(store, at(60), at(120), [at(60)], node=OTHER_NODE)
    late = fire(store, at(60), at(180), [at(60), at(120)], node=OTHER_NODE, now=at(200))
    assert first is not None and len(first) == 1
    assert again is None and late is None
    assert [r.id for r in runs_of(store)] == first
    assert get(store).next_fire_at == at(120)
    assert [(f.node_id, f.run_id) for f in store.schedule_fires("tick", 10)] == [(NODE, first[0])]


def test_a_fire_time_never_gets_two_runs_even_if_next_fire_is_forced_back(store: Store) -> None:
    """The fire history's primary key (schedule, fire time) is the last line of defence."""
    store.schedules_upsert(schedule(next_fire=at(60)))
    [run_id] = fire(store, at(60), at(120), [at(60)]) or []
    store.schedule_set_paused("tick", False, at(60), at(100))  # e.g. a bad manual edit
    assert get(store).next_fire_at == at(60)

    again = fire(store, at(60), at(180), [at(60), at(120)], node=OTHER_NODE, now=at(130))
    assert again is not None and len(again) == 1  # only 2:00 is new
    runs = runs_of(store)
    assert sorted(r.run_at for r in runs) == [at(60), at(120)]
    history = {f.fire_time: f for f in store.schedule_fires("tick", 10)}
    assert (history[at(60)].run_id, history[at(60)].node_id) == (run_id, NODE)
    assert (history[at(120)].run_id, history[at(120)].node_id) == (again[0], OTHER_NODE)
    assert get(store).next_fire_at == at(180)


def test_fire_records_without_runs_still_move_the_schedule_on(store: Store) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    skipped = [FireRecord("tick", at(60), "skipped"), FireRecord("tick", at(120), "overlap")]
    assert fire(store, at(60), at(180), records=skipped, now=at(150)) == []
    assert runs_of(store) == []
    assert [f.outcome for f in store.schedule_fires("tick", 10)] == ["overlap", "skipped"]
    assert get(store).next_fire_at == at(180)


def test_a_paused_or_deleted_schedule_does_not_fire(store: Store) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    assert store.schedule_set_paused("tick", True, at(60), at(30))
    assert fire(store, at(60), at(120), [at(60)]) is None
    assert store.schedules_due(at(60), 10) == []
    store.schedules_delete(["tick"])
    assert fire(store, at(60), at(120), [at(60)]) is None
    assert runs_of(store) == [] and store.schedule_fires("tick", 10) == []


def test_set_paused(store: Store) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    assert store.schedule_set_paused("tick", True, at(60), at(10))
    s = get(store)
    assert s.paused and s.next_fire_at == at(60) and s.updated_at == at(10)
    assert store.schedule_set_paused("tick", False, at(300), at(290))
    s = get(store)
    assert not s.paused and s.next_fire_at == at(300)
    assert store.schedule_set_paused("nope", True, None, at(1)) is False


def test_delete(store: Store) -> None:
    for name in ("a", "b", "c"):
        store.schedules_upsert(schedule(name))
    assert store.schedules_delete(["a", "c", "nope"]) == 2
    assert [s.name for s in store.schedules_list()] == ["b"]
    assert store.schedules_delete([]) == 0
    assert store.schedules_delete(["a"]) == 0


def test_active_runs_counts_the_schedules_runs_not_yet_ended(store: Store) -> None:
    store.schedules_upsert(schedule(next_fire=at(60)))
    assert store.schedule_active_runs("tick") == 0
    ids = fire(store, at(60), at(240), [at(60), at(120), at(180)], now=at(200)) or []
    insert(store, new_run("report", schedule="other"), new_run("report"))
    assert store.schedule_active_runs("tick") == 3

    [running] = claim(store, limit=1, now=at(200), run_id=ids[0])
    assert store.schedule_active_runs("tick") == 3  # queued, queued, running
    assert store.runs_finish(FinishParams([succeeded(running, at(201))])) == []
    assert store.schedule_active_runs("tick") == 2
    assert store.schedule_active_runs("other") == 1


# -- exactly once under a race ---------------------------------------------------------------
RACERS = 8


def test_racing_schedulers_fire_a_time_exactly_once(store: Store) -> None:
    """Eight threads, each with its own store like eight nodes, fire the same due time."""
    store.schedules_upsert(schedule(next_fire=at(60)))
    start = threading.Barrier(RACERS)
    results: list[list[int] | None] = [None] * RACERS
    problems: list[BaseException] = []

    def racer(n: int) -> None:
        own = open_store(store.url)
        try:
            start.wait(timeout=30)
            results[n] = fire(own, at(60), at(120), [at(60)], node=f"node-{n}")
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            problems.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    assert problems == []

    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and len(winners[0]) == 1
    [run] = runs_of(store)
    assert run.id == winners[0][0] and run.run_at == at(60)
    [record] = store.schedule_fires("tick", 10)
    assert record.node_id == f"node-{results.index(winners[0])}"
    assert get(store).next_fire_at == at(120)
