"""The idempotency key of a launch: its fingerprint, and what the launch path refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rota.errors import InvalidArguments
from rota.jobs import JobOptions, JobSpec, LaunchOptions
from rota.launch import IDEMPOTENCY_TTL, build_runs, fingerprint, idempotency_key

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def send(order_id: int, note: str = "") -> None:
    pass


SPEC = JobSpec.from_function(send, "send", JobOptions())


def print_of(args: dict[str, Any] | None = None, **options: Any) -> str:
    opts = LaunchOptions(**options)
    [run] = build_runs(SPEC, [args or {"order_id": 1}], opts, NOW)
    return fingerprint(run, opts)


def test_the_same_request_has_the_same_fingerprint() -> None:
    assert print_of() == print_of()
    assert print_of({"order_id": 1, "note": "x"}) == print_of({"note": "x", "order_id": 1})
    assert print_of(delay=10) == print_of(delay=10.0) == print_of(delay=timedelta(seconds=10))
    naive = datetime(2031, 1, 1, 12, 0)
    aware = datetime(2031, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert print_of(run_at=naive) == print_of(run_at=aware)


@pytest.mark.parametrize(
    "other",
    [
        {"args": {"order_id": 2}},
        {"args": {"order_id": 1, "note": "x"}},
        {"delay": 11},
        {"run_at": datetime(2031, 1, 1, tzinfo=UTC)},
        {"priority": 1},
        {"queue": "other"},
        {"unique_key": "u"},
        {"max_attempts": 9},
    ],
)
def test_anything_else_changes_it(other: dict[str, Any]) -> None:
    args = other.pop("args", None)
    assert print_of(args, **other) != print_of()


def test_the_key_expires_after_a_day() -> None:
    opts = LaunchOptions(idempotency_key="k")
    rows = build_runs(SPEC, [{"order_id": 1}], opts, NOW)
    key = idempotency_key(rows, opts, NOW)
    assert key is not None and key.key == "k" and key.expires_at == NOW + IDEMPOTENCY_TTL
    assert timedelta(hours=24) <= IDEMPOTENCY_TTL
    assert idempotency_key(rows, LaunchOptions(), NOW) is None


@pytest.mark.parametrize("bad", ["", "k" * 256, "nul\x00", "\ud800", 5])
def test_bad_keys_are_refused(bad: Any) -> None:
    opts = LaunchOptions(idempotency_key=bad)
    rows = build_runs(SPEC, [{"order_id": 1}], opts, NOW)
    with pytest.raises(InvalidArguments, match="idempotency_key"):
        idempotency_key(rows, opts, NOW)


def test_a_key_applies_to_one_run_only() -> None:
    opts = LaunchOptions(idempotency_key="k")
    rows = build_runs(SPEC, [{"order_id": 1}, {"order_id": 2}], opts, NOW)
    with pytest.raises(InvalidArguments, match="exactly one run"):
        idempotency_key(rows, opts, NOW)


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ({"order_id": 1, "note": "a\x00b"}, {}),
        ({"order_id": 1, "note": "\udc80"}, {}),
        ({"order_id": 1}, {"queue": "q\x00"}),
        ({"order_id": 1}, {"unique_key": "\ud800"}),
    ],
)
def test_text_a_database_cannot_store_is_refused(
    args: dict[str, Any], options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidArguments):
        build_runs(SPEC, [args], LaunchOptions(**options), NOW)
