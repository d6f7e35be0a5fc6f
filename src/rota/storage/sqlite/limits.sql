-- Flow control in the claim of a worker that serves limited jobs (rota.admission):
-- BEGIN IMMEDIATE already serializes the claims.

-- name: limits_candidates
-- Due waiting runs of the worker's jobs in claim order, leaving out those of paused queues and
-- of limited groups or queues with no room, each with what its scopes use now: running runs
-- (a finished or rescued run frees its place) and unexpired starts. The walk follows
-- rota_runs_claim and stops after :scan runs. Without :queue_limits (as the one-statement
-- claim does) limited queues' runs are left. A job's scope is 'job-c:' or 'job-r:', the job's
-- length and name, and the group; a queue's is 'queue-c:' or 'queue-r:' and its name.
-- :limited is a JSON array of [job, concurrency, rate]; :jobs the worker's job names.
WITH lim AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS job, json_extract(value, '$[1]') AS conc,
           json_extract(value, '$[2]') AS rate,
           'job-r:' || length(json_extract(value, '$[0]')) || ':' || json_extract(value, '$[0]')
           || ':' AS r_prefix
    FROM json_each(:limited)
), c_used AS MATERIALIZED (
    SELECT r.job, 'job-c:' || length(r.job) || ':' || r.job || ':'
                  || CASE WHEN r.job IN (SELECT value FROM json_each(:c_keyed)) THEN coalesce(r.concurrency_group, '') ELSE '' END AS scope, count(*) AS n
    FROM rota_runs r INDEXED BY rota_runs_running
    WHERE r.state = 'running' AND r.job IN (SELECT job FROM lim WHERE conc IS NOT NULL)
    GROUP BY 1, 2
), q_lim AS MATERIALIZED (
    SELECT name, concurrency, rate_limit, rate_period FROM rota_queues
    WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL
), q_used AS MATERIALIZED (
    SELECT r.queue, count(*) AS n FROM rota_runs r INDEXED BY rota_runs_state_queue
    WHERE r.state = 'running'
      AND r.queue IN (SELECT name FROM q_lim WHERE concurrency IS NOT NULL)
    GROUP BY r.queue
), r_used AS MATERIALIZED (
    SELECT scope, count(*) AS n FROM rota_rate_starts WHERE expires_at > :now GROUP BY scope
), c_full AS MATERIALIZED (
    SELECT u.scope FROM c_used u JOIN lim l ON l.job = u.job WHERE u.n >= l.conc
), r_full AS MATERIALIZED (
    SELECT u.scope FROM r_used u JOIN lim l
      ON l.rate IS NOT NULL AND substr(u.scope, 1, length(l.r_prefix)) = l.r_prefix
    WHERE u.n >= l.rate
), q_closed AS MATERIALIZED (
    SELECT name FROM rota_queues WHERE paused = 1
    UNION ALL
    SELECT name FROM q_lim WHERE NOT :queue_limits
    UNION ALL
    SELECT u.queue FROM q_used u JOIN q_lim l ON l.name = u.queue WHERE u.n >= l.concurrency
    UNION ALL
    SELECT l.name FROM q_lim l JOIN r_used u ON u.scope = 'queue-r:' || l.name
    WHERE u.n >= l.rate_limit
), cand AS MATERIALIZED (
    SELECT r.id, r.job, r.queue, r.priority, r.run_at,
           CASE WHEN r.job IN (SELECT job FROM lim WHERE conc IS NOT NULL)
                THEN 'job-c:' || length(r.job) || ':' || r.job || ':'
                     || CASE WHEN r.job IN (SELECT value FROM json_each(:c_keyed)) THEN coalesce(r.concurrency_group, '') ELSE '' END END AS c_scope,
           CASE WHEN r.job IN (SELECT job FROM lim WHERE rate IS NOT NULL)
                THEN 'job-r:' || length(r.job) || ':' || r.job || ':'
                     || CASE WHEN r.job IN (SELECT value FROM json_each(:r_keyed)) THEN coalesce(r.rate_group, '') ELSE '' END END AS r_scope
    FROM rota_runs r INDEXED BY rota_runs_claim
    WHERE r.state IN ('queued', 'scheduled', 'retrying') AND r.run_at <= :now
      AND (:jobs IS NULL OR r.job IN (SELECT value FROM json_each(:jobs)))
      AND (:queues IS NULL OR r.queue IN (SELECT value FROM json_each(:queues)))
      AND r.queue NOT IN (SELECT name FROM q_closed)
      AND 'job-c:' || length(r.job) || ':' || r.job || ':' || CASE WHEN r.job IN (SELECT value FROM json_each(:c_keyed)) THEN coalesce(r.concurrency_group, '') ELSE '' END
          NOT IN (SELECT scope FROM c_full)
      AND 'job-r:' || length(r.job) || ':' || r.job || ':' || CASE WHEN r.job IN (SELECT value FROM json_each(:r_keyed)) THEN coalesce(r.rate_group, '') ELSE '' END
          NOT IN (SELECT scope FROM r_full)
    ORDER BY r.priority, r.run_at, r.id
    LIMIT :scan
), ranked AS (
    SELECT c.id, c.job, c.priority, c.run_at, c.c_scope, c.r_scope,
           coalesce(cu.n, 0) AS c_used, coalesce(ru.n, 0) AS r_used,
           q.concurrency AS q_conc, coalesce(qu.n, 0) AS q_c_used,
           q.rate_limit AS q_rate, q.rate_period AS q_period, coalesce(qr.n, 0) AS q_r_used,
           c.queue, l.conc, l.rate,
           row_number() OVER (PARTITION BY c.c_scope ORDER BY c.priority, c.run_at, c.id)
               AS c_rank,
           row_number() OVER (PARTITION BY c.r_scope ORDER BY c.priority, c.run_at, c.id)
               AS r_rank,
           row_number() OVER (PARTITION BY c.queue ORDER BY c.priority, c.run_at, c.id)
               AS q_rank
    FROM cand c
    LEFT JOIN lim l ON l.job = c.job
    LEFT JOIN c_used cu ON cu.scope = c.c_scope
    LEFT JOIN r_used ru ON ru.scope = c.r_scope
    LEFT JOIN q_lim q ON q.name = c.queue
    LEFT JOIN q_used qu ON qu.queue = c.queue
    LEFT JOIN r_used qr ON qr.scope = 'queue-r:' || c.queue
)
-- Only the runs that could start: within a group, runs start in claim order, so those past
-- its room are left out here (so are those past a limited queue's room, for runs of jobs
-- without limits of their own, whose group the queue is); admission decides among the rest.
SELECT id, job, c_scope, r_scope, c_used, r_used, q_conc, q_c_used, q_rate, q_period,
       q_r_used, queue
FROM ranked
WHERE (c_scope IS NULL OR c_rank <= conc - c_used)
  AND (r_scope IS NULL OR r_rank <= rate - r_used)
  AND (c_scope IS NOT NULL OR r_scope IS NOT NULL
       OR ((q_conc IS NULL OR q_rank <= q_conc - q_c_used)
           AND (q_rate IS NULL OR q_rank <= q_rate - q_r_used)))
ORDER BY priority, run_at, id;

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
-- Starts expired for a window's length: a claim whose ``now`` was read before another's, then
-- waited for the write lock, still counts the starts that were in its window.
DELETE FROM rota_rate_starts
WHERE scope IN (SELECT value FROM json_each(:scopes)) AND expires_at <= :prune_before;

-- name: limits_prune_expired
-- The maintenance's sweep: starts expired before :before, whatever their scope (a claim
-- prunes only the scopes it starts, so a key never started again would keep its rows).
DELETE FROM rota_rate_starts WHERE rowid IN (
    SELECT rowid FROM rota_rate_starts WHERE expires_at <= :before LIMIT :limit);
