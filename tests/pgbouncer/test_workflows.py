"""Workflows release their steps through PgBouncer (worker processes, the pooler's URL)."""

from __future__ import annotations

from tests.integration.test_workflows import (
    app,
    test_a_dag_failing_in_the_middle_is_repaired_by_retrying_the_failed_step,
    test_a_group_runs_its_steps_in_parallel_then_its_callback,
    test_fifty_upstreams_ending_at_once_release_their_fan_in_once,
    workers,
)

__all__ = [
    "app",
    "test_a_dag_failing_in_the_middle_is_repaired_by_retrying_the_failed_step",
    "test_a_group_runs_its_steps_in_parallel_then_its_callback",
    "test_fifty_upstreams_ending_at_once_release_their_fan_in_once",
    "workers",
]
