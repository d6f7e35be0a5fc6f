-- Named node queries of the PostgreSQL backend.

-- name: node_register
INSERT INTO rota_nodes (id, hostname, pid, roles, started_at, last_seen_at, info)
VALUES (%(id)s, %(hostname)s, %(pid)s, %(roles)s::jsonb, %(started_at)s, %(last_seen_at)s,
        %(info)s::jsonb)
ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, roles = excluded.roles,
    stopped_at = NULL, info = excluded.info;

-- name: node_heartbeat
UPDATE rota_nodes SET last_seen_at = %(now)s WHERE id = %(id)s;

-- name: node_stop
UPDATE rota_nodes SET stopped_at = %(now)s, last_seen_at = %(now)s WHERE id = %(id)s;

-- name: nodes_list
SELECT * FROM rota_nodes WHERE last_seen_at >= %(seen_after)s ORDER BY started_at DESC;

-- name: nodes_prune
DELETE FROM rota_nodes WHERE last_seen_at < %(seen_before)s;

-- name: db_now
-- The database's clock, which every node's times follow (rota.clock.DatabaseClock).
SELECT clock_timestamp() AS now;
