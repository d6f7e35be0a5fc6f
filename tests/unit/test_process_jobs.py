"""``executor="process"``: what is refused at definition, and how a child's failure is rebuilt
from its JSON (type name, message, traceback) without any pickle."""

from __future__ import annotations

import asyncio
import functools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

import rota
from rota.worker.child import error_payload
from rota.worker.process_pool import _result
from rota.worker.storable import error_entry


def module_level(n: int) -> int:
    return n


@pytest.fixture
def app() -> rota.App:
    return rota.App(database="sqlite:///:memory:")


def test_a_module_level_function_is_accepted(app: rota.App) -> None:
    job = app.job(executor="process", timeout=5)(module_level)
    assert job.spec.options.executor == "process"
    assert job.spec.describe()["executor"] == "process"
    assert app.job(module_level).spec.options.executor == "default"


def test_a_nested_function_a_lambda_or_a_partial_is_refused(app: rota.App) -> None:
    def nested(n: int) -> int:
        return n

    for func, name in [
        (nested, "nested"),
        (lambda: 1, "lam"),
        (functools.partial(module_level, 1), "p"),
    ]:
        with pytest.raises(ValueError, match="executor='process' needs a module-level function"):
            app.job(executor="process", name=name)(func)
    assert not app.jobs


def test_an_unknown_executor_is_refused(app: rota.App) -> None:
    with pytest.raises(ValueError, match="executor must be one of 'default', 'process'"):
        app.job(executor="threads")(module_level)


def crossed(exc: BaseException) -> Any:
    """The exception as the parent rebuilds it from the child's JSON line."""
    reply = json.loads(json.dumps({"op": "done", "ok": False, "error": error_payload(exc)}))
    with pytest.raises(BaseException) as caught:
        _result(reply)
    return caught.value


def test_a_job_error_keeps_its_type_name_message_and_traceback() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        rebuilt = crossed(exc)
    entry = error_entry(1, rebuilt, datetime.now(UTC))
    assert (entry.type, entry.message) == ("KeyError", "'missing'")
    assert "in test_a_job_error_keeps_its_type_name_message_and_traceback" in entry.traceback
    assert entry.traceback.rstrip().endswith("KeyError: 'missing'")


def test_rota_outcomes_cross_as_themselves() -> None:
    retry = crossed(rota.Retry(after=7))
    assert isinstance(retry, rota.Retry) and retry.after == 7
    snooze = crossed(rota.Snooze(after=3))
    assert isinstance(snooze, rota.Snooze) and snooze.after == 3
    assert isinstance(crossed(rota.Discard("no")), rota.Discard)
    assert isinstance(crossed(rota.HandBack("later")), rota.HandBack)
    assert isinstance(crossed(asyncio.CancelledError()), asyncio.CancelledError)


def test_a_result_crosses_as_json() -> None:
    assert _result({"op": "done", "ok": True, "result": {"a": [1, 2]}}) == {"a": [1, 2]}
