-- Named node queries of the SQLite backend (times are epoch seconds).

-- name: node_register
INSERT INTO rota_nodes (id, hostname, pid, roles, started_at, last_seen_at, info)
VALUES (:id, :hostname, :pid, :roles, :started_at, :last_seen_at, :info)
ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, roles = excluded.roles,
    stopped_at = NULL, info = excluded.info;

-- name: node_heartbeat
UPDATE rota_nodes SET last_seen_at = :now WHERE id = :id;

-- name: node_stop
UPDATE rota_nodes SET stopped_at = :now, last_seen_at = :now WHERE id = :id;

-- name: nodes_list
SELECT * FROM rota_nodes WHERE last_seen_at >= :seen_after ORDER BY started_at DESC;

-- name: nodes_prune
DELETE FROM rota_nodes WHERE last_seen_at < :seen_before;

-- name: db_now
-- SQLite's clock is this machine's (the process's own): one machine, one clock.
SELECT (julianday('now') - 2440587.5) * 86400.0 AS now;
