"""Error entries and results of hostile jobs, made storable (pure: no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from rota.limits import MAX_ERROR_MESSAGE, MAX_RESULT_BYTES, MAX_TRACEBACK
from rota.worker.storable import check_result, error_entry

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def storable(entry: object) -> str:
    return json.dumps(entry, ensure_ascii=False).encode("utf-8").decode()


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_surrogates_and_nul_are_escaped_visibly_and_marked() -> None:
    entry = error_entry(1, raised(ValueError("file \udcff and a\x00b")), NOW).to_json()
    storable(entry)
    assert str(entry["message"]).startswith("file \\udcff and a\\x00b [rota: ")
    assert "escaped" in str(entry["message"])


def test_a_clean_message_is_kept_as_it_is() -> None:
    assert error_entry(1, raised(ValueError("plain")), NOW).message == "plain"


class BrokenNotes(ValueError):
    @property
    def __notes__(self) -> list[str]:  # type: ignore[override]  # format_exception raises
        raise RuntimeError("no notes")


def test_a_formatting_traceback_that_raises_is_handled() -> None:
    exc = raised(BrokenNotes("notes are broken"))
    entry = error_entry(1, exc, NOW)
    assert entry.message == "notes are broken"
    assert entry.traceback.startswith("<traceback unavailable: formatting it raised RuntimeError")


def test_huge_messages_and_tracebacks_are_capped() -> None:
    entry = error_entry(1, raised(ValueError("x" * (MAX_ERROR_MESSAGE * 3))), NOW)
    assert len(entry.message) <= MAX_ERROR_MESSAGE
    assert entry.message.endswith("characters cut]")
    assert len(entry.traceback) <= MAX_TRACEBACK


@pytest.mark.parametrize(
    ("value", "kind", "why"),
    [
        ("a\x00b", ValueError, "NUL"),
        (["\udcff"], ValueError, "surrogate"),
        ({"\ud800": 1}, ValueError, "surrogate"),
        (float("nan"), ValueError, "not JSON"),
        ({1, 2}, TypeError, "not JSON"),
        ("y" * (MAX_RESULT_BYTES + 1), ValueError, "bytes"),
        ({"ok": [1, "é 😀"]}, None, None),
    ],
)
def test_results_that_cannot_be_stored(value: object, kind: type | None, why: str | None) -> None:
    problem = check_result(value)
    if kind is None:
        assert problem is None
        return
    assert isinstance(problem, kind)
    assert "the job returned a value that cannot be stored" in str(problem)
    assert why is not None and why in str(problem)


def test_deep_nesting_is_refused_and_literal_backslashes_are_not_nul() -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    assert isinstance(check_result(deep), ValueError)
    assert check_result({"a": "\\u0000 is text", "b": [1, 2.5, None]}) is None
