-- Flow control in the claim (rota.admission): the claim of a worker that serves limited jobs,
-- serialized per limited job by transaction-level advisory locks (no session state: safe
-- behind PgBouncer).

-- name: limits_lock
-- Keys in ascending order, so that two claims never wait on each other in a cycle. For this
-- transaction only, the candidates walk the claim index in order: after a bulk launch, before
-- statistics catch up, the planner would otherwise sort every waiting run of the jobs.
SELECT count(pg_advisory_xact_lock(k)) AS locked,
       set_config('enable_bitmapscan', 'off', true) AS bitmap,
       set_config('enable_seqscan', 'off', true) AS seq
FROM (SELECT k FROM unnest(%(keys)s::bigint[]) AS k ORDER BY k) AS s;

-- name: limits_candidates
-- Due waiting runs of the worker's jobs in claim order, leaving out those of limited groups
-- with no room, each with what its groups use now: running runs (a finished or rescued run
-- frees its place) and unexpired starts. A new statement after the lock: it sees every claim
-- made before. The walk follows rota_runs_claim and stops after %(scan)s runs; a scope is
-- 'job-c:' or 'job-r:', the job's length and name, and the group (unambiguous, any name).
WITH c_used AS MATERIALIZED (
    SELECT r.job, 'job-c:' || length(r.job) || ':' || r.job || ':'
                  || coalesce(r.concurrency_group, '') AS scope, count(*) AS n
    FROM rota_runs r
    WHERE r.state = 'running' AND r.job = ANY(%(c_jobs)s::text[])
    GROUP BY 1, 2
), r_used AS MATERIALIZED (
    SELECT scope, count(*) AS n FROM rota_rate_starts
    WHERE expires_at > %(now)s GROUP BY scope
), lim AS MATERIALIZED (
    SELECT job, conc, rate, 'job-r:' || length(job) || ':' || job || ':' AS r_prefix
    FROM unnest(%(l_jobs)s::text[], %(l_conc)s::int[], %(l_rate)s::int[]) AS l(job, conc, rate)
), c_full AS MATERIALIZED (
    SELECT u.scope FROM c_used u JOIN lim l ON l.job = u.job WHERE u.n >= l.conc
), r_full AS MATERIALIZED (
    SELECT u.scope FROM r_used u JOIN lim l ON starts_with(u.scope, l.r_prefix)
    WHERE u.n >= l.rate
), cand AS MATERIALIZED (
    SELECT id, job, priority, run_at,
           CASE WHEN job = ANY(%(c_jobs)s::text[]) THEN 'job-c:' || length(job) || ':' || job
                || ':' || coalesce(concurrency_group, '') END AS c_scope,
           CASE WHEN job = ANY(%(r_jobs)s::text[]) THEN 'job-r:' || length(job) || ':' || job
                || ':' || coalesce(rate_group, '') END AS r_scope
    FROM rota_runs
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
      AND (%(jobs)s::text[] IS NULL OR job = ANY(%(jobs)s::text[]))
      AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
      AND NOT (job = ANY(%(c_jobs)s::text[])
               AND 'job-c:' || length(job) || ':' || job || ':' || coalesce(concurrency_group, '')
                   IN (SELECT scope FROM c_full))
      AND NOT (job = ANY(%(r_jobs)s::text[])
               AND 'job-r:' || length(job) || ':' || job || ':' || coalesce(rate_group, '')
                   IN (SELECT scope FROM r_full))
    ORDER BY priority, run_at, id
    LIMIT %(scan)s
)
SELECT c.id, c.job, c.priority, c.run_at, c.c_scope, c.r_scope,
       coalesce(cu.n, 0) AS c_used, coalesce(ru.n, 0) AS r_used
FROM cand c
LEFT JOIN c_used cu ON cu.scope = c.c_scope
LEFT JOIN r_used ru ON ru.scope = c.r_scope;

-- name: limits_claim
-- The claim event of rota.runs for the admitted runs (compare-and-set on their state), and a
-- start logged for each rate-limited one that was claimed; the starts of those scopes expired
-- for a window's length are deleted (only those scopes: their job's lock is held, so two claims
-- never delete the same rows). Not sooner: a claim whose ``now`` was read before another's,
-- then waited for the lock, still counts the starts that were in its window.
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
    WHERE scope = ANY(%(r_scopes)s::text[]) AND expires_at <= %(prune_before)s
)
SELECT * FROM claimed;
