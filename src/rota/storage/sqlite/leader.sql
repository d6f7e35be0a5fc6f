-- Named leader-lease queries of the SQLite backend (times are epoch seconds).

-- name: leader_acquire
-- Take a free or expired lease or one of a dead node, or renew our own; no row returned: another node holds it.
INSERT INTO rota_leader (name, node_id, elected_at, expires_at)
VALUES (:name, :node_id, :now, :expires_at)
ON CONFLICT (name) DO UPDATE SET
    elected_at = CASE WHEN rota_leader.node_id = excluded.node_id
                      THEN rota_leader.elected_at ELSE excluded.elected_at END,
    node_id = excluded.node_id,
    expires_at = excluded.expires_at
WHERE rota_leader.node_id = excluded.node_id OR rota_leader.expires_at <= :now
   -- liveness: the holder's node stopped, or has not been seen since dead_before
   OR rota_leader.node_id IN (SELECT id FROM rota_nodes
                              WHERE :dead_before IS NOT NULL
                                AND (stopped_at IS NOT NULL OR last_seen_at < :dead_before))
RETURNING node_id;

-- name: leader_renew
UPDATE rota_leader SET expires_at = :expires_at
WHERE name = :name AND node_id = :node_id AND expires_at > :now
RETURNING node_id;

-- name: leader_resign
DELETE FROM rota_leader WHERE name = :name AND node_id = :node_id;

-- name: leader_get
SELECT name, node_id, elected_at, expires_at FROM rota_leader WHERE name = :name;
