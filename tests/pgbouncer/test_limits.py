"""Concurrency and rate limits hold through PgBouncer across worker processes (the limited
claim's advisory locks and planner settings are transaction-level)."""

from __future__ import annotations

from tests.integration.test_limits import (
    test_per_job_limit_holds_across_workers,
    test_per_key_limit_of_one_never_overlaps_across_workers,
    test_queue_concurrency_set_at_run_time_holds_across_workers,
)

__all__ = [
    "test_per_job_limit_holds_across_workers",
    "test_per_key_limit_of_one_never_overlaps_across_workers",
    "test_queue_concurrency_set_at_run_time_holds_across_workers",
]
