"""The retention part of the storage seam: bounded deletes of what the cluster no longer keeps.

Each verb is one statement in its own short transaction that deletes at most ``limit`` rows
and returns how many; the pruner calls it again while a batch comes back full.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from rota.runs import RunState


class RetentionStore(Protocol):
    def retention_runs(self, state: RunState, before: datetime, limit: int) -> int:
        """Delete runs that ended in ``state`` before ``before``, keeping a workflow step
        that a step after it (not succeeded yet) may still need."""
        ...

    def retention_fires(self, keep: int, limit: int) -> int:
        """Delete each schedule's fire history beyond its ``keep`` latest fires."""
        ...

    def retention_batch(self, limit: int) -> int:
        """Delete the step executions, then the executions, whose run was deleted; an
        instance's last execution stays when it completed or was abandoned."""
        ...

    def retention_workflows(self, before: datetime, limit: int) -> int:
        """Delete edges whose steps are both gone, then workflows created before ``before``
        whose steps (and parent run) are all gone."""
        ...
