"""A paused queue starts nothing across workers and restarts, through PgBouncer."""

from __future__ import annotations

from tests.integration.test_queues import (
    test_a_paused_queue_starts_nothing_across_workers_and_restarts,
    test_runs_claimed_ahead_go_back_when_their_queue_pauses,
    worker,
)

__all__ = [
    "test_a_paused_queue_starts_nothing_across_workers_and_restarts",
    "test_runs_claimed_ahead_go_back_when_their_queue_pauses",
    "worker",
]
