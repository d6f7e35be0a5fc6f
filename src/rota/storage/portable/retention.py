"""Retention's bounded deletes, written once over the dialect (``retention.sql``)."""

from __future__ import annotations

from datetime import datetime

from rota.runs import RunState
from rota.storage.dialect import SqlBackend


class PortableRetention(SqlBackend):
    """``RetentionStore``: each call is one or two short write statements."""

    def retention_runs(self, state: RunState, before: datetime, limit: int) -> int:
        d = self.dialect
        q = d.queries("retention.sql")["retention_runs"]
        return self.write(q, {"state": state.value, "before": d.time(before), "limit": limit})

    def retention_fires(self, keep: int, limit: int) -> int:
        q = self.dialect.queries("retention.sql")["retention_fires"]
        return self.write(q, {"keep": keep, "limit": limit})

    def retention_batch(self, limit: int) -> int:
        q = self.dialect.queries("retention.sql")
        steps = self.write(q["retention_batch_steps"], {"limit": limit})
        return steps + self.write(q["retention_batch_executions"], {"limit": limit})

    def retention_workflows(self, before: datetime, limit: int) -> int:
        d = self.dialect
        q = d.queries("retention.sql")
        edges = self.write(q["retention_workflow_edges"], {"limit": limit})
        workflows = {"before": d.time(before), "limit": limit}
        return edges + self.write(q["retention_workflows"], workflows)
