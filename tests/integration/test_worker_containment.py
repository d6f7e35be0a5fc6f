"""The worker's own defences, driven in-process on a real database: an outcome the database
refuses is replaced rather than blocking the worker, and a run of a job the worker lacks that
is claimed anyway (by id) goes straight back to the queue."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

import rota
from rota.runs import ErrorEntry, Event
from rota.storage.base import ClaimParams, Outcome
from rota.worker.recorder import Recorder
from rota.worker.worker import Worker, WorkerConfig
from tests.integration import hostile_app


@pytest.fixture
def app(database_url: str) -> Iterator[rota.App]:
    a = hostile_app.build(database_url)
    yield a
    a.close()


def claim_params(app: rota.App, node: str, limit: int = 10) -> ClaimParams:
    now = app.clock.now()
    return ClaimParams(node, None, limit, now, now + timedelta(seconds=30))


def test_an_outcome_the_database_refuses_is_replaced_not_retried_forever(
    app: rota.App, caplog: pytest.LogCaptureFixture
) -> None:
    bad_id = app.enqueue("add", {"a": 1, "b": 1}).id
    good_id = app.enqueue("add", {"a": 2, "b": 2}).id
    recorder = Recorder(app.store)
    bad, good = recorder.claim(claim_params(app, "node-x")).claimed
    now = app.clock.now()
    # an outcome that slipped past the worker's checks: text no database can store
    entry = ErrorEntry(bad.attempt, "ValueError", "file \udcff", "", now)
    recorder.add(Outcome.of(bad, "node-x", Event.DISCARD, now, error=entry))
    recorder.add(Outcome.of(good, "node-x", Event.SUCCEED, now, result=4))
    later = app.enqueue("add", {"a": 3, "b": 3}).id

    with caplog.at_level(logging.INFO):
        claimed = recorder.claim(claim_params(app, "node-x")).claimed

    assert [r.id for r in claimed] == [later]  # the claim went on
    assert recorder.pending == []
    assert app.runs.get(good_id).result == 4
    run = app.runs.get(bad_id)
    assert run.state == "failed"
    [stored] = run.errors
    assert "could not store this attempt's failed outcome" in str(stored["message"])
    assert "database unavailable" not in caplog.text


def test_a_run_of_an_unknown_job_claimed_by_id_is_handed_back_unattempted(
    app: rota.App, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = rota.App(database=database_url)

    @other.job
    def renamed_job() -> None: ...

    try:
        foreign = other.enqueue("renamed_job").id
    finally:
        other.close()
    worker = Worker(app.store, app.jobs, WorkerConfig(node_id="exec-node"))
    try:
        with caplog.at_level(logging.INFO):
            decided = worker.run_once(wait=10, only=foreign)
    finally:
        worker.close()

    assert decided == []
    run = app.runs.get(foreign)
    assert run.state == "queued" and run.attempt == 0 and run.errors == [], run
    assert "job 'renamed_job' is not defined in this worker's app" in caplog.text
