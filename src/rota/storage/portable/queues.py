"""Queues: the rows operators store (pause, limits) and the listing with counts (both backends).

On PostgreSQL a pause, resume or change of limits sends ``NOTIFY rota_runs`` with the queue's
name in the same statement (delivered on commit); on SQLite the commit itself wakes workers
(``PRAGMA data_version``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rota.queues import Queue
from rota.runs import RunState
from rota.storage.dialect import Row, SqlBackend
from rota.storage.queue_store import QueueLimitsParams, QueueListParams, QueuePauseParams


def _queue(row: Row, backend: SqlBackend, cap: int) -> Queue:
    d = backend.dialect
    period = row["rate_period"]
    return Queue(
        name=row["name"],
        paused=bool(row["paused"]),
        concurrency=None if row["concurrency"] is None else int(row["concurrency"]),
        rate_limit=None if row["rate_limit"] is None else int(row["rate_limit"]),
        rate_period=None if period is None else float(period),
        queued=int(row["queued"]),
        running=int(row["running"]),
        oldest_due=d.read_time(row["oldest_due"]),
        count_cap=cap,
    )


class PortableQueues(SqlBackend):
    """``QueueStore`` over the backend's ``queues.sql``."""

    def queues_list(self, params: QueueListParams) -> list[Queue]:
        if params.limit < 1 or params.cap < 1:
            raise ValueError(f"limit and cap must be at least 1, got {params}")
        rows = self.fetch(
            self.dialect.queries("queues.sql")["queues_list"],
            {
                "states": self.dialect.array([s.value for s in RunState]),
                "after": params.after or "",  # every queue name has a character at least
                "limit": params.limit,
                "cap": params.cap,
            },
        )
        return [_queue(r, self, params.cap) for r in rows]

    def queue_get(self, name: str, cap: int) -> Queue:
        rows = self.fetch(
            self.dialect.queries("queues.sql")["queue_get"], {"name": name, "cap": cap}
        )
        return _queue(rows[0], self, cap)

    def queue_set_paused(self, params: QueuePauseParams) -> None:
        d = self.dialect
        self.write_rows(
            d.queries("queues.sql")["queue_set_paused"],
            {"name": params.name, "paused": d.flag(params.paused), "now": d.time(params.now)},
        )

    def queue_set_limits(self, params: QueueLimitsParams) -> None:
        d = self.dialect
        self.write_rows(
            d.queries("queues.sql")["queue_set_limits"],
            {
                "name": params.name,
                "now": d.time(params.now),
                "set_concurrency": d.flag(params.set_concurrency),
                "concurrency": params.concurrency if params.set_concurrency else None,
                "set_rate": d.flag(params.set_rate),
                "rate_limit": params.rate_limit if params.set_rate else None,
                "rate_period": params.rate_period if params.set_rate else None,
            },
        )

    def queues_paused(self, names: Sequence[str]) -> list[str]:
        if not names:
            return []
        rows = self.fetch(
            self.dialect.queries("queues.sql")["queues_paused"],
            {"names": self.dialect.array(list(names))},
        )
        return sorted(str(r["name"]) for r in rows)
