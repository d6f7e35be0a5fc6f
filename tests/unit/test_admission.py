"""Flow control's pure core: limit options checked at definition, groups, fair admission."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rota.admission import (
    JOB_WIDE,
    Candidate,
    admit,
    check_limits,
    fair_order,
    group_of,
)
from rota.errors import InvalidArguments
from rota.jobs import JobOptions, JobSpec, LaunchOptions
from rota.launch import build_runs
from rota.limits import MAX_KEY, MAX_LIMIT

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def cand(i: int, group: str, *scopes: str) -> Candidate:
    return Candidate(i, scopes or (group,), group)


# -- options ----------------------------------------------------------------------------


def test_options_are_kept_when_valid() -> None:
    got = check_limits("sync", ["customer_id"], 2, "customer_id", (10, 60), "customer_id")
    assert (got.concurrency, got.concurrency_key) == (2, "customer_id")
    assert (got.rate_limit, got.rate_period, got.rate_key) == (10, 60.0, "customer_id")
    assert check_limits("j", [], rate_limit=[5, 0.5]).rate_period == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be an integer from 1"),
        ({"concurrency": -1}, "concurrency must be an integer from 1"),
        ({"concurrency": 1.5}, "concurrency must be an integer"),
        ({"concurrency": True}, "concurrency must be an integer"),
        ({"concurrency": MAX_LIMIT + 1}, "concurrency must be an integer"),
        ({"concurrency": 1, "concurrency_key": "nope"}, "must name one of the job's param"),
        ({"concurrency_key": "customer_id"}, "concurrency_key needs concurrency=N"),
        ({"rate_limit": 5}, r"rate_limit must be \(N, seconds\)"),
        ({"rate_limit": (5,)}, r"rate_limit must be \(N, seconds\)"),
        ({"rate_limit": (0, 10)}, "rate_limit's N must be an integer from 1"),
        ({"rate_limit": (5, 0)}, "seconds must be above 0"),
        ({"rate_limit": (5, -1)}, "seconds must be above 0"),
        ({"rate_limit": (5, float("nan"))}, "seconds must be above 0"),
        ({"rate_limit": (5, "1m")}, r"got seconds '1m'"),
        ({"rate_limit": (5, 10), "rate_key": 3}, "must name one of the job's parameters"),
        ({"rate_key": "customer_id"}, r"rate_key needs rate_limit=\(N, seconds\)"),
    ],
)
def test_bad_options_are_refused_with_the_job_named(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        check_limits("sync", ["customer_id"], **kwargs)
    assert "job 'sync'" in str(info.value)


def test_group_is_the_key_values_json_or_job_wide() -> None:
    assert group_of("j", None, {"a": 1}) == JOB_WIDE
    assert group_of("j", "a", {"a": "x"}) == '"x"'
    assert group_of("j", "a", {"a": {"b": 1, "a": [2]}}) == '{"a":[2],"b":1}'
    assert group_of("j", "a", {}, default=7) == "7"
    with pytest.raises(ValueError, match=f"at most {MAX_KEY} characters"):
        group_of("j", "a", {"a": "x" * MAX_KEY})


def test_equal_numbers_fall_in_one_group() -> None:
    # REST keeps 1.0 as a float and Python may pass 1: one customer, one group.
    assert group_of("j", "a", {"a": 1.0}) == group_of("j", "a", {"a": 1}) == "1"
    assert group_of("j", "a", {"a": -0.0}) == group_of("j", "a", {"a": 0}) == "0"
    assert group_of("j", "a", {"a": {"x": [2.0, 1.5]}}) == '{"x":[2,1.5]}'
    assert group_of("j", "a", {"a": True}) == "true"  # a bool is not the number 1


def customer(customer_id: str, n: int = 0) -> None:
    pass


def test_a_launch_stores_the_groups_and_refuses_a_key_too_long() -> None:
    limits = check_limits("customer", ["customer_id", "n"], 1, "customer_id", (5, 1), None)
    spec = JobSpec.from_function(customer, "customer", JobOptions(limits=limits))
    [run] = build_runs(spec, [{"customer_id": "c1"}], LaunchOptions(), T0)
    assert (run.concurrency_group, run.rate_group) == ('"c1"', JOB_WIDE)
    with pytest.raises(InvalidArguments, match="limit key"):
        build_runs(spec, [{"customer_id": "c" * 2000}], LaunchOptions(), T0)
    plain = JobSpec.from_function(customer, "plain", JobOptions())
    [run] = build_runs(plain, [{"customer_id": "c1"}], LaunchOptions(), T0)
    assert (run.concurrency_group, run.rate_group) == (None, None)


# -- admission --------------------------------------------------------------------------


def test_each_groups_first_run_before_any_groups_second() -> None:
    cands = [cand(1, "a"), cand(2, "a"), cand(3, "a"), cand(4, "b"), cand(5, "c"), cand(6, "b")]
    assert [c.id for c in fair_order(cands)] == [1, 4, 5, 2, 6, 3]


def test_claim_order_is_kept_within_a_turn() -> None:
    cands = [cand(2, "b"), cand(1, "a"), cand(3, "b")]  # as the query gave them
    assert [c.id for c in fair_order(cands)] == [2, 1, 3]


def test_admit_respects_room_and_slots() -> None:
    cands = [cand(1, "a"), cand(2, "a"), cand(3, "b"), cand(4, "c")]
    assert admit(cands, {"a": 2, "b": 0, "c": 5}, slots=10) == [1, 4, 2]
    assert admit(cands, {"a": 2, "b": 0, "c": 5}, slots=2) == [1, 4]
    assert admit(cands, {}, slots=3) == [1, 3, 4]  # scopes without a limit


def test_every_scope_of_a_run_needs_room() -> None:
    cands = [cand(1, "a", "a", "rate"), cand(2, "b", "b", "rate"), cand(3, "c", "c")]
    assert admit(cands, {"a": 1, "b": 1, "c": 1, "rate": 1}, slots=5) == [1, 3]


@given(
    st.lists(st.integers(0, 4), max_size=40),
    st.dictionaries(st.integers(0, 4), st.integers(0, 3)),
    st.integers(0, 12),
)
def test_admission_never_overfills(runs: list[int], room: dict[int, int], slots: int) -> None:
    cands = [cand(i, f"g{g}") for i, g in enumerate(runs)]
    rooms = {f"g{g}": n for g, n in room.items()}
    ids = admit(cands, rooms, slots)
    assert len(ids) <= slots and len(set(ids)) == len(ids)
    for g, n in rooms.items():
        assert sum(1 for c in cands if c.id in ids and c.fair_group == g) <= n
    # nothing admissible was left out while a slot stayed free
    if len(ids) < slots:
        for c in cands:
            if c.id not in ids:
                used = sum(1 for d in cands if d.id in ids and d.fair_group == c.fair_group)
                assert used >= rooms.get(c.fair_group, 10**9)
