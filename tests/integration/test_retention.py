"""Retention through the app on both backends: runs a real worker ended are deleted by the
maintenance service that ``app.start()`` runs, once they are older than the app's retention
by its clock; runs younger than that, failed runs, and everything under ``retention=None``
stay."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import rota
from rota.errors import RunNotFound
from rota.runs import RunState
from tests.support import wait_until


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t


def gone(app: rota.App, run_id: int) -> bool:
    try:
        app.runs.get(run_id)
    except RunNotFound:
        return True
    return False


def ended_runs(app: rota.App) -> tuple[int, int, int]:
    @app.job
    def ok() -> None:
        pass

    @app.job(max_attempts=1)
    def boom() -> None:
        raise ValueError("boom")

    ids = app.enqueue("ok").id, app.enqueue("boom").id, app.enqueue("ok", delay=60).id
    app.runs.cancel(ids[2])
    assert app.drain() == {"succeeded": 1, "failed": 1}
    return ids


def test_the_app_prunes_ended_runs_past_the_default_retention(database_url: str) -> None:
    clock = Clock()
    app = rota.App(database=database_url, clock=clock, lease_seconds=2)
    ok, boom, cancelled = ended_runs(app)
    young = app.enqueue("ok").id
    clock.t += timedelta(days=6)
    app.drain()  # young ended 6 days after the others
    clock.t += timedelta(days=1, seconds=1)
    app.start(worker=False, scheduler=False)
    try:
        wait_until(lambda: gone(app, ok) and gone(app, cancelled), 20, "the prune")
        assert app.runs.get(boom).state is RunState.FAILED, "failed runs are kept"
        assert app.runs.get(young).state is RunState.SUCCEEDED, "a day old: kept"
    finally:
        app.close()


def test_a_custom_retention_and_none(database_url: str) -> None:
    clock = Clock()
    app = rota.App(database=database_url, clock=clock, lease_seconds=2, retention={"failed": 60})
    ok, boom, cancelled = ended_runs(app)
    clock.t += timedelta(days=365)
    app.start(worker=False, scheduler=False)
    try:
        wait_until(lambda: gone(app, boom), 20, "the prune of the failed run")
        assert app.runs.get(ok).state is RunState.SUCCEEDED, "a state not named is kept"
        assert app.runs.get(cancelled).state is RunState.CANCELLED
        first_node = wait_until(lambda: app.nodes.list(), 20, "the node")[0].id
    finally:
        app.close()
    keep = rota.App(database=database_url, clock=clock, lease_seconds=2, retention=None)
    clock.t += timedelta(days=3650)
    keep.start(worker=False, scheduler=False)
    try:  # the pass that forgets the first node (long gone now) keeps every run
        wait_until(lambda: first_node not in nodes(keep), 20, "a prune pass")
        time.sleep(0.5)  # the rest of that pass
        for run_id in (ok, cancelled):
            assert not gone(keep, run_id)
    finally:
        keep.close()


def nodes(app: rota.App) -> set[str]:
    return {n.id for n in app.store.nodes_list(datetime(2000, 1, 1, tzinfo=UTC))}
