"""Retention on a real database of each backend: the pruner deletes what the policy lets go,
in bounded batches, and keeps what is still needed (failed runs by default, workflow steps a
later step needs, the fires the screens show, an instance's deciding batch execution)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rota.batch.model import BatchState
from rota.cluster.pruner import BATCH, FIRES_KEPT, Pruner
from rota.retention import DEFAULT_POLICY, Policy, retention_policy
from rota.runs import RunState
from rota.storage.base import Store
from rota.usecases import workflows as use

from .support import T0, at, insert, new_run
from .test_workflows import fail, insert_wf, succeed

S, F, C = RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED
DAY = 86400.0


@dataclass
class FakeClock:
    current: datetime = T0

    def now(self) -> datetime:
        return self.current


def execute(store: Store, statement: str) -> list[tuple[Any, ...]]:
    """One statement on the store's database, beside the store (seeding and checking)."""
    if store.backend == "sqlite":
        conn = sqlite3.connect(store.url[len("sqlite:///") :])
        try:
            rows = conn.execute(statement).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(store.url, autocommit=True) as pg:
        cur = pg.execute(statement.encode())
        return list(cur.fetchall()) if cur.description else []


def time_sql(store: Store, when: datetime) -> str:
    if store.backend == "sqlite":
        return repr(when.timestamp())
    return f"'{when.isoformat()}'::timestamptz"


def ended(store: Store, state: RunState, finished: datetime, n: int = 1) -> list[int]:
    """``n`` runs that ended in ``state`` at ``finished``."""
    ids = insert(store, *[new_run() for _ in range(n)])
    at_sql = time_sql(store, finished)
    execute(
        store,
        f"UPDATE rota_runs SET state = '{state.value}', attempt = 1, started_at = {at_sql}, "
        f"finished_at = {at_sql} WHERE id BETWEEN {min(ids)} AND {max(ids)}",
    )
    return ids


def existing(store: Store, ids: Sequence[int]) -> set[int]:
    listed = ", ".join(str(i) for i in ids)
    return {int(r[0]) for r in execute(store, f"SELECT id FROM rota_runs WHERE id IN ({listed})")}


def prune(store: Store, now: datetime, retention: Policy = DEFAULT_POLICY) -> int:
    return Pruner(store, 30.0, FakeClock(now), retention=retention).run_once()


def test_the_default_deletes_succeeded_and_cancelled_runs_after_seven_days(store: Store) -> None:
    old_s, old_c, old_f = ended(store, S, T0), ended(store, C, T0), ended(store, F, T0)
    young = ended(store, S, at(DAY)) + ended(store, C, at(DAY))
    assert prune(store, at(7 * DAY + 1)) == 2
    assert existing(store, old_s + old_c + old_f + young) == set(old_f + young)
    assert prune(store, at(8 * DAY + 1)) == 2  # a day later the young ones are 7 days old
    assert existing(store, old_f + young) == set(old_f), "failed runs stay until retried or purged"


def test_a_run_exactly_at_its_age_stays(store: Store) -> None:
    [run] = ended(store, S, T0)
    assert prune(store, at(7 * DAY)) == 0
    assert existing(store, [run]) == {run}


def test_a_custom_mapping_names_states_and_ages(store: Store) -> None:
    policy = retention_policy({"failed": 3600, "succeeded": timedelta(days=30)})
    s, f, c = ended(store, S, T0), ended(store, F, T0), ended(store, C, T0)
    assert prune(store, at(7 * DAY + 1), policy) == 1
    assert existing(store, s + f + c) == set(s + c), "failed after an hour; cancelled unnamed"
    assert prune(store, at(30 * DAY + 1), policy) == 1
    assert existing(store, s + f + c) == set(c), "a state not named is kept forever"


def test_none_keeps_everything(store: Store) -> None:
    ids = ended(store, S, T0) + ended(store, F, T0) + ended(store, C, T0)
    assert prune(store, at(3650 * DAY), retention_policy(None)) == 0
    assert existing(store, ids) == set(ids)


def test_runs_not_ended_are_never_deleted(store: Store) -> None:
    ids = insert(store, new_run(), new_run(run_at=at(60)))
    assert prune(store, at(3650 * DAY), retention_policy({"succeeded": 0, "failed": 0})) == 0
    assert existing(store, ids) == set(ids)


def test_a_backlog_larger_than_a_batch_is_deleted_a_batch_per_statement(store: Store) -> None:
    pruner = Pruner(store, 30.0, FakeClock(at(8 * DAY)))
    batch = pruner.batch
    assert batch == BATCH == 1000
    ids = ended(store, S, T0, n=3 * batch + batch // 2)
    assert store.retention_runs(S, at(1), batch) == batch, "one statement deletes one batch"
    pruner.budget = 0.0  # a pass stops after its first full batch
    assert pruner.run_once() == batch
    assert pruner.run_once() == batch
    pruner.budget = 60.0  # the rest in one pass
    assert pruner.run_once() == batch // 2
    assert existing(store, ids) == set()


def test_a_workflow_step_stays_while_a_step_after_it_needs_it(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": (), "c": ("a", "b")})
    succeed(store, ids["a"], "A")
    fail(store, ids["b"], now=30)  # c is cancelled: a and b may be needed by a retry
    everything = retention_policy({"succeeded": 0, "failed": 0, "cancelled": 0})
    prune(store, at(DAY), everything)
    assert existing(store, list(ids.values())) == {ids["a"], ids["b"]}
    assert store.workflows_get([wf_id]), "the workflow stays while it has steps"
    assert execute(store, "SELECT count(*) FROM rota_workflow_edges")[0][0] == 2


def test_a_workflow_and_its_edges_go_once_all_its_steps_are_gone(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": ("a",)})
    other_id, other = insert_wf(store, {"x": (), "y": ("x",)})
    succeed(store, ids["a"], "A")
    succeed(store, ids["b"], now=30)
    prune(store, at(2 * DAY))
    assert existing(store, list(ids.values())) == set(ids.values()), "not 7 days old yet"
    prune(store, at(8 * DAY))
    assert existing(store, list(ids.values())) == set()
    assert store.workflows_get([wf_id]) == [], "no step left: the workflow is deleted"
    assert [w.id for w in store.workflows_get([other_id])] == [other_id], "waiting: kept"
    edges = execute(store, "SELECT upstream_id, downstream_id FROM rota_workflow_edges")
    assert edges == [(other["x"], other["y"])]


def test_a_retried_workflow_step_is_kept_until_the_step_after_it_succeeded(store: Store) -> None:
    wf_id, ids = insert_wf(store, {"a": (), "b": ("a",)})
    fail(store, ids["a"])
    use.retry(store, wf_id, at(40))
    succeed(store, ids["a"], "A", now=50)
    prune(store, at(10 * DAY))
    assert existing(store, list(ids.values())) == {ids["a"], ids["b"]}, "b waits for a's result"


def fires(store: Store, schedule: str, n: int) -> None:
    execute(
        store,
        "INSERT INTO rota_schedule_fires (schedule, fire_time, outcome, run_id, node_id, fired_at) "
        + " UNION ALL ".join(
            f"SELECT '{schedule}', {time_sql(store, at(i))}, 'fired', 1, 'n', "
            f"{time_sql(store, at(i))}"
            for i in range(n)
        ),
    )


def test_the_fire_history_keeps_the_latest_fires_of_each_schedule(store: Store) -> None:
    fires(store, "busy", FIRES_KEPT + 30)
    fires(store, "quiet", 3)
    prune(store, at(1))
    kept = execute(
        store, "SELECT schedule, count(*) FROM rota_schedule_fires GROUP BY schedule ORDER BY 1"
    )
    assert kept == [("busy", FIRES_KEPT), ("quiet", 3)]
    [latest] = store.schedule_fires("busy", 1)
    assert latest.fire_time == at(FIRES_KEPT + 29), "the newest are the ones kept"
    assert store.schedule_fires("busy", 1000)[-1].fire_time == at(30)


def execution(store: Store, instance: int, state: str, run_id: int, steps: int = 2) -> int:
    t = time_sql(store, T0)
    [(ex,)] = execute(
        store,
        "INSERT INTO rota_batch_executions (instance_id, job, args, state, run_id, created_at) "
        f"VALUES ({instance}, 'imp', '{{}}', '{state}', {run_id}, {t}) RETURNING id",
    )
    for i in range(steps):
        execute(
            store,
            "INSERT INTO rota_batch_steps (execution_id, name, state) "
            f"VALUES ({ex}, 'step{i}', '{'completed' if state == 'completed' else 'failed'}')",
        )
    return int(ex)


def instance(store: Store, identity: str) -> int:
    [(i,)] = execute(
        store,
        "INSERT INTO rota_batch_instances (job, identity, args, created_at) "
        f"VALUES ('imp', '{identity}', '{{}}', {time_sql(store, T0)}) RETURNING id",
    )
    return int(i)


def test_batch_executions_go_with_their_runs_but_an_instance_keeps_its_last_word(
    store: Store,
) -> None:
    [gone_1, gone_2, kept_run] = ended(store, S, T0) + ended(store, F, T0) + ended(store, F, T0)
    done, failing = instance(store, "done"), instance(store, "failing")
    failed_then = execution(store, done, "failed", gone_2)
    completed = execution(store, done, "completed", gone_1)
    live = execution(store, failing, "failed", kept_run)
    execute(store, f"DELETE FROM rota_runs WHERE id IN ({gone_1}, {gone_2})")  # past retention
    prune(store, at(1))
    left = execute(store, "SELECT id FROM rota_batch_executions ORDER BY id")
    assert [r[0] for r in left] == [completed, live]
    steps = execute(store, "SELECT DISTINCT execution_id FROM rota_batch_steps")
    assert [r[0] for r in steps] == [live], "step executions go with their run"
    assert failed_then not in {r[0] for r in left}
    history = store.batch_history(done)
    assert [e.id for e in history] == [completed]
    assert history[0].state is BatchState.COMPLETED, "a relaunch of the instance is refused"
    assert [e.id for e in store.batch_history(failing)] == [live]
