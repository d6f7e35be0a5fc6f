"""Batch jobs run, fail and restart through PgBouncer."""

from __future__ import annotations

from tests.integration.test_batch import (
    app,
    knobs,
    out,
    test_a_clean_run_completes_with_counts,
    test_failure_at_item_k_then_restart_writes_every_item_once,
    test_partitioned_step_restarts_only_its_unfinished_partitions,
)

__all__ = [
    "app",
    "knobs",
    "out",
    "test_a_clean_run_completes_with_counts",
    "test_failure_at_item_k_then_restart_writes_every_item_once",
    "test_partitioned_step_restarts_only_its_unfinished_partitions",
]
