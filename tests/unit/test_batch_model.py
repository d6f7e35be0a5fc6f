"""The pure batch core: launch rules, admission order, flow transitions, step definitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rota import batch
from rota.batch.model import (
    BatchState,
    PastExecution,
    admission_order,
    check_launch,
    effective_state,
    identity,
)
from rota.errors import BatchConflict

S = BatchState


def past(i: int, state: BatchState, run: str | None = "failed") -> PastExecution:
    return PastExecution(i, state, run)


def test_first_launch_restarts_nothing() -> None:
    assert check_launch("j", [], None) is None


def test_relaunch_after_failure_or_stop_restarts_the_latest() -> None:
    assert check_launch("j", [past(1, S.FAILED), past(4, S.STOPPED, "cancelled")], None) == 4


@pytest.mark.parametrize(
    ("state", "run", "match"),
    [
        (S.COMPLETED, "succeeded", "already completed"),
        (S.ABANDONED, "failed", "abandoned"),
        (S.STARTED, "running", "started"),
        (S.STARTING, "queued", "starting"),
        (S.STOPPING, "running", "stopping"),
    ],
)
def test_refusals(state: BatchState, run: str, match: str) -> None:
    with pytest.raises(BatchConflict, match=match):
        check_launch("j", [past(1, S.FAILED), past(2, state, run)], None)


def test_an_active_row_whose_run_ended_is_effectively_over() -> None:
    assert effective_state(past(1, S.STARTED, "cancelled")) is S.STOPPED
    assert effective_state(past(1, S.STARTING, None)) is S.FAILED  # its run was deleted
    assert effective_state(past(1, S.STARTED, "running")) is S.STARTED
    assert check_launch("j", [past(1, S.STARTED, "failed")], None) == 1


def test_restart_limit_counts_restarts() -> None:
    assert check_launch("j", [past(1, S.FAILED)], 1) == 1
    with pytest.raises(BatchConflict, match="restart limit"):
        check_launch("j", [past(1, S.FAILED), past(2, S.FAILED)], 1)


@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"])), max_size=8))
def test_admission_order_is_sorted_and_refuses_duplicates(keys: list[str | None]) -> None:
    pairs = [("job", k) if k is not None else None for k in keys]
    present = [k for k in keys if k is not None]
    if len(set(present)) < len(present):
        with pytest.raises(BatchConflict, match="twice"):
            admission_order(pairs)
        return
    order = admission_order(pairs)
    assert sorted(order) == [i for i, k in enumerate(keys) if k is not None]
    assert [keys[i] for i in order] == sorted(present)


def test_identity_ignores_argument_order() -> None:
    assert identity("j", {"a": 1, "b": [1, 2]}) == identity("j", {"b": [1, 2], "a": 1})
    assert identity("j", {"a": 1}) != identity("k", {"a": 1})


def noop(ctx: batch.StepContext) -> None:
    return None


def test_flow_goes_in_order_and_fails_on_failure() -> None:
    flow = batch.Flow([batch.tasklet("a", noop), batch.tasklet("b", noop)])
    assert flow.first == "a"
    assert flow.after("a", "COMPLETED") == "b"
    assert flow.after("b", "COMPLETED") == batch.END
    assert flow.after("a", "FAILED") == batch.FAIL


def test_transitions_by_exact_status_then_pattern() -> None:
    flow = batch.Flow(
        [
            batch.tasklet("a", noop, on={"FAILED": "c", "NO*": batch.END, "*": "b"}),
            batch.tasklet("b", noop),
            batch.tasklet("c", noop),
        ]
    )
    assert flow.after("a", "FAILED") == "c"
    assert flow.after("a", "NOOP") == batch.END
    assert flow.after("a", "COMPLETED") == "b"


@pytest.mark.parametrize(
    "build",
    [
        lambda: batch.Flow([]),
        lambda: batch.Flow([batch.tasklet("a", noop), batch.tasklet("a", noop)]),
        lambda: batch.Flow([batch.tasklet("a", noop, on={"*": "nowhere"})]),
        lambda: batch.Flow([batch.tasklet("a", noop), batch.tasklet("b", noop, on={"X": "a"})]),
        lambda: batch.Flow([batch.tasklet("a", noop, on={"X": "a"})]),
        lambda: batch.chunk("c", reader=lambda ctx: [], writer=print, size=0),
        lambda: batch.chunk("c", reader=lambda ctx: [], writer=print, partitions=0),
        lambda: batch.tasklet("END", noop),
    ],
)
def test_bad_definitions_are_refused_clearly(build: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        build()  # type: ignore[operator]
