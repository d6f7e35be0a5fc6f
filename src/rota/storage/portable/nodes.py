"""The cluster's nodes: register, heartbeat, stop, list, prune (both backends)."""

from __future__ import annotations

from datetime import datetime

from rota.nodes import Node
from rota.storage.dialect import Dialect, Row, SqlBackend
from rota.storage.rows import dumps


def node_from_row(row: Row, d: Dialect) -> Node:
    return Node(
        id=row["id"],
        hostname=row["hostname"],
        pid=int(row["pid"]),
        roles=list(d.read_json(row["roles"])),
        started_at=d.read_time_not_null(row["started_at"]),
        last_seen_at=d.read_time_not_null(row["last_seen_at"]),
        stopped_at=d.read_time(row["stopped_at"]),
        info=d.read_json(row["info"]) or {},
    )


class PortableNodes(SqlBackend):
    """``NodeStore`` over the backend's ``nodes.sql``."""

    def node_register(self, node: Node) -> None:
        d = self.dialect
        self.write(
            d.queries("nodes.sql")["node_register"],
            {
                "id": node.id,
                "hostname": node.hostname,
                "pid": node.pid,
                "roles": dumps(node.roles),
                "started_at": d.time(node.started_at),
                "last_seen_at": d.time(node.last_seen_at),
                "info": dumps(node.info),
            },
        )

    def node_heartbeat(self, node_id: str, now: datetime) -> None:
        d = self.dialect
        self.write(d.queries("nodes.sql")["node_heartbeat"], {"id": node_id, "now": d.time(now)})

    def node_stop(self, node_id: str, now: datetime) -> None:
        d = self.dialect
        self.write(d.queries("nodes.sql")["node_stop"], {"id": node_id, "now": d.time(now)})

    def nodes_list(self, seen_after: datetime) -> list[Node]:
        d = self.dialect
        rows = self.fetch(d.queries("nodes.sql")["nodes_list"], {"seen_after": d.time(seen_after)})
        return [node_from_row(r, d) for r in rows]

    def nodes_prune(self, seen_before: datetime) -> int:
        d = self.dialect
        q = d.queries("nodes.sql")["nodes_prune"]
        return self.write(q, {"seen_before": d.time(seen_before)})

    def db_now(self) -> datetime:
        d = self.dialect
        [row] = self.fetch(d.queries("nodes.sql")["db_now"], {})
        return d.read_time_not_null(row["now"])
