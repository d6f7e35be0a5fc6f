"""Out-of-range input to the Python API: a clear rota error, never a driver's overflow.

On both backends, because the failures came from the databases: SQLite cannot bind an int
past 64 bits, and a purge or a delay past what a datetime holds overflowed in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import rota
from rota import batch
from rota.errors import InvalidArguments, InvalidInput, RunNotFound
from rota.limits import MAX_ID, MAX_JSON_DEPTH, MAX_PAGE
from rota.runs import RunState

TOO_BIG = [MAX_ID + 1, 2**64, 10**30]


@pytest.fixture
def app(database_url: str) -> Iterator[rota.App]:
    a = rota.App(database=database_url)

    @a.job
    def add(a: int, b: int = 0) -> int:
        return a + b

    @a.job
    def keep(value: Any = None) -> Any:
        return value

    @a.batch
    def nightly(day: str) -> batch.Flow:
        return batch.Flow([batch.tasklet("noop", lambda ctx: None)])

    yield a
    a.close()


@pytest.mark.parametrize("run_id", [0, -5, *TOO_BIG])
def test_run_ids_out_of_range_are_refused_by_every_run_verb(app: rota.App, run_id: int) -> None:
    verbs: list[Any] = [
        lambda: app.runs.get(run_id),
        lambda: app.runs.cancel(run_id),
        lambda: app.runs.cancel_many([run_id]),
        lambda: app.runs.retry([run_id]),
        lambda: app.runs.delete(run_id),
        lambda: app.runs.list(before_id=run_id),
        lambda: app.batches.get(run_id),
        lambda: app.batches.list(before_id=run_id),
        lambda: app.batches.stop(run_id),
    ]
    for verb in verbs:
        with pytest.raises(InvalidInput, match=f"from 1 to {MAX_ID}"):
            verb()


def test_the_largest_id_is_simply_not_found(app: rota.App) -> None:
    with pytest.raises(RunNotFound):
        app.runs.get(MAX_ID)
    assert app.runs.list(before_id=MAX_ID) == []


def test_page_sizes_stop_at_max_page_as_on_every_launcher(app: rota.App) -> None:
    assert app.runs.list(limit=MAX_PAGE) == []
    assert app.batches.list(limit=MAX_PAGE) == []
    for limit in (0, MAX_PAGE + 1, 10**30):
        with pytest.raises(
            InvalidInput, match=f"limit must be a whole number from 1 to {MAX_PAGE}"
        ):
            app.runs.list(limit=limit)
        with pytest.raises(InvalidInput, match="limit"):
            app.batches.list(limit=limit)


@pytest.mark.parametrize(
    "older_than", [timedelta(days=999_999_999), timedelta(days=36_501), 10**14, -1, float("nan")]
)
def test_a_purge_age_past_any_run_is_refused(app: rota.App, older_than: Any) -> None:
    with pytest.raises(InvalidInput, match="older_than"):
        app.runs.purge([RunState.SUCCEEDED], older_than)


def test_a_purge_of_a_long_age_still_works(app: rota.App) -> None:
    assert app.runs.purge([RunState.SUCCEEDED], timedelta(days=36_500)) == 0


@pytest.mark.parametrize("delay", [99999999999999, timedelta(days=3651), float("inf")])
def test_configure_delay_past_the_horizon_is_refused(app: rota.App, delay: Any) -> None:
    with pytest.raises(InvalidArguments, match="delay must be from 0 to 315360000 seconds"):
        app.get_job("add").configure(delay=delay).enqueue(a=1)
    assert app.runs.list() == []


def test_configure_run_at_past_the_horizon_is_refused(app: rota.App) -> None:
    for far in (datetime(9999, 12, 31, tzinfo=UTC), app.clock.now() + timedelta(days=3651)):
        with pytest.raises(InvalidArguments, match="run_at must be at most 315360000 seconds"):
            app.get_job("add").configure(run_at=far).enqueue(a=1)
    assert app.runs.list() == []


def test_enqueue_many_names_the_refused_item(app: rota.App) -> None:
    with pytest.raises(InvalidArguments, match=r"^item 2 \(counting from 0\): job 'add': missing"):
        app.get_job("add").enqueue_many([{"a": 1}, {"a": 2}, {"b": 3}])
    assert app.runs.list() == []


def test_a_50_mb_argument_is_refused_with_its_size(app: rota.App) -> None:
    # {"day":"..."}: 10 bytes more than the text
    with pytest.raises(InvalidArguments, match="arguments are 52428810 bytes as JSON"):
        app.enqueue("nightly", {"day": "x" * (50 * 1024 * 1024)})
    assert app.runs.list() == []


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_arguments_nest_as_deep_as_the_rest_api_allows_and_no_deeper(app: rota.App) -> None:
    keep = app.get_job("keep")
    handle = keep.enqueue(value=nested(MAX_JSON_DEPTH))
    assert app.drain() == {"succeeded": 1}
    assert handle.result(timeout=5) == nested(MAX_JSON_DEPTH)
    with pytest.raises(InvalidArguments, match=f"nests deeper than {MAX_JSON_DEPTH} levels"):
        keep.enqueue(value=nested(MAX_JSON_DEPTH + 1))
    assert len(app.runs.list()) == 1
