"""Schedules through PgBouncer: three scheduler processes (one killed) fire each time once.

The worker node LISTENs on a direct connection (``rota_listen``), as the scenario measures
fire-to-start latency; the schedulers and everything else go through the pooler.
"""

from __future__ import annotations

import pytest

from tests.integration.test_scheduler_cluster import (
    app,
    nodes,
    test_pause_resume_and_trigger_from_the_python_api,
    test_three_schedulers_fire_each_time_exactly_once_and_survive_a_kill,
)
from tests.pgbouncer.bouncer import PgBouncer

__all__ = [
    "app",
    "nodes",
    "test_pause_resume_and_trigger_from_the_python_api",
    "test_three_schedulers_fire_each_time_exactly_once_and_survive_a_kill",
]


@pytest.fixture
def database_url(bouncer: PgBouncer) -> str:
    return bouncer.listen_url
