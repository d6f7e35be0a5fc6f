-- Flow control in the claim (rota.admission): the claim of limited jobs' runs, serialized per
-- job by transaction-level advisory locks (no session state: safe behind PgBouncer).

-- name: limits_lock
-- Keys in ascending order, so that two claims never wait on each other in a cycle.
SELECT count(pg_advisory_xact_lock(k)) AS locked
FROM (SELECT k FROM unnest(%(keys)s::bigint[]) AS k ORDER BY k) AS s;

-- name: limits_candidates
-- Due waiting runs of the limited jobs in claim order, leaving out those of groups with no
-- room, each with what its groups use now: running runs (a finished or rescued run frees its
-- place) and unexpired starts. A new statement after the lock: it sees every claim before.
WITH lim AS (
    SELECT * FROM unnest(%(l_jobs)s::text[], %(l_conc)s::int[], %(l_rate)s::int[])
        AS l(job, conc, rate)
), used AS (
    SELECT 'job-c:' || r.job || ':' || coalesce(r.concurrency_group, '') AS scope,
           count(*) AS n
    FROM rota_runs r
    WHERE r.state = 'running'
      AND r.job = ANY(ARRAY(SELECT job FROM lim WHERE conc IS NOT NULL))
    GROUP BY 1
    UNION ALL
    SELECT scope, count(*) FROM rota_rate_starts WHERE expires_at > %(now)s GROUP BY scope
), cand AS (
    SELECT r.id, r.job, r.priority, r.run_at, l.conc, l.rate,
           CASE WHEN l.conc IS NOT NULL
                THEN 'job-c:' || r.job || ':' || coalesce(r.concurrency_group, '') END AS c_scope,
           CASE WHEN l.rate IS NOT NULL
                THEN 'job-r:' || r.job || ':' || coalesce(r.rate_group, '') END AS r_scope
    FROM rota_runs r JOIN lim l ON l.job = r.job
    WHERE r.state IN ('queued', 'scheduled', 'retrying') AND r.run_at <= %(now)s
      AND r.job = ANY(%(l_jobs)s::text[])
      AND (%(queues)s::text[] IS NULL OR r.queue = ANY(%(queues)s::text[]))
)
SELECT c.id, c.job, c.priority, c.run_at, c.conc, c.rate, c.c_scope, c.r_scope,
       coalesce(cu.n, 0) AS c_used, coalesce(ru.n, 0) AS r_used
FROM cand c
LEFT JOIN used cu ON cu.scope = c.c_scope
LEFT JOIN used ru ON ru.scope = c.r_scope
WHERE (c.conc IS NULL OR coalesce(cu.n, 0) < c.conc)
  AND (c.rate IS NULL OR coalesce(ru.n, 0) < c.rate)
ORDER BY c.priority, c.run_at, c.id
LIMIT %(scan)s;

-- name: limits_claim
-- The claim event of rota.runs for the admitted runs (compare-and-set on their state), and a
-- start logged for each rate-limited one that was claimed; the expired starts of those scopes
-- are deleted (only those: their job's lock is held, so two claims never delete the same rows).
WITH claimed AS (
    UPDATE rota_runs
    SET state = 'running', attempt = attempt + 1, started_at = %(now)s,
        lease_expires_at = %(lease_until)s, node_id = %(node_id)s
    WHERE id = ANY(%(ids)s::bigint[]) AND state IN ('queued', 'scheduled', 'retrying')
    RETURNING *
), logged AS (
    INSERT INTO rota_rate_starts (scope, expires_at)
    SELECT v.scope, v.expires_at
    FROM unnest(%(r_ids)s::bigint[], %(r_scopes)s::text[], %(r_expires)s::timestamptz[])
        AS v(id, scope, expires_at)
    JOIN claimed c ON c.id = v.id
), pruned AS (
    DELETE FROM rota_rate_starts
    WHERE scope = ANY(%(r_scopes)s::text[]) AND expires_at <= %(now)s
)
SELECT * FROM claimed;
