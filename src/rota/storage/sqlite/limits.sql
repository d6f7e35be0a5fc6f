-- Flow control in the claim (rota.admission): BEGIN IMMEDIATE already serializes the claims.

-- name: limits_candidates
-- Due waiting runs of the limited jobs in claim order, leaving out those of groups with no
-- room, each with what its groups use now: running runs (a finished or rescued run frees its
-- place) and unexpired starts. :limited is a JSON array of [job, concurrency, rate].
WITH lim AS (
    SELECT json_extract(value, '$[0]') AS job, json_extract(value, '$[1]') AS conc,
           json_extract(value, '$[2]') AS rate
    FROM json_each(:limited)
), used AS (
    SELECT 'job-c:' || r.job || ':' || coalesce(r.concurrency_group, '') AS scope,
           count(*) AS n
    FROM rota_runs r INDEXED BY rota_runs_state
    WHERE r.state = 'running' AND r.job IN (SELECT job FROM lim WHERE conc IS NOT NULL)
    GROUP BY 1
    UNION ALL
    SELECT scope, count(*) FROM rota_rate_starts WHERE expires_at > :now GROUP BY scope
)
SELECT c.id, c.job, c.priority, c.run_at, c.conc, c.rate, c.c_scope, c.r_scope,
       coalesce(cu.n, 0) AS c_used, coalesce(ru.n, 0) AS r_used
FROM (
    SELECT r.id, r.job, r.priority, r.run_at, l.conc, l.rate,
           CASE WHEN l.conc IS NOT NULL
                THEN 'job-c:' || r.job || ':' || coalesce(r.concurrency_group, '') END AS c_scope,
           CASE WHEN l.rate IS NOT NULL
                THEN 'job-r:' || r.job || ':' || coalesce(r.rate_group, '') END AS r_scope
    FROM rota_runs r INDEXED BY rota_runs_claim
    JOIN lim l ON l.job = r.job
    WHERE r.state IN ('queued', 'scheduled', 'retrying') AND r.run_at <= :now
      AND (:queues IS NULL OR r.queue IN (SELECT value FROM json_each(:queues)))
) c
LEFT JOIN used cu ON cu.scope = c.c_scope
LEFT JOIN used ru ON ru.scope = c.r_scope
WHERE (c.conc IS NULL OR coalesce(cu.n, 0) < c.conc)
  AND (c.rate IS NULL OR coalesce(ru.n, 0) < c.rate)
ORDER BY c.priority, c.run_at, c.id
LIMIT :scan;

-- name: limits_claim
-- The claim event of rota.runs for the admitted runs (compare-and-set on their state).
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = :now,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id IN (SELECT value FROM json_each(:ids)) AND state IN ('queued', 'scheduled', 'retrying')
RETURNING *;

-- name: limits_log_start
INSERT INTO rota_rate_starts (scope, expires_at) VALUES (:scope, :expires_at);

-- name: limits_prune
DELETE FROM rota_rate_starts
WHERE scope IN (SELECT value FROM json_each(:scopes)) AND expires_at <= :now;
