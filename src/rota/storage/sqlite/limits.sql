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
-- When some queue is closed (paused, or without room) and no other queue the worker serves has
-- waiting runs (waiting: a walk of rota_runs_state_queue from one queue name to the next), the
-- walk is skipped: it would read the whole backlog of the closed queues to find nothing.
-- Past a queue's concurrency room, :ahead more of its runs are candidates to claim ahead (not
-- started, ClaimParams.ahead); a queue without room stays open for them only in
-- :placed_queues (with room, plan() claims ahead only where it gives places).
WITH lim AS MATERIALIZED (
    SELECT job, conc, rate,
           job IN (SELECT value FROM json_each(:c_keyed)) AS c_keyed,
           job IN (SELECT value FROM json_each(:r_keyed)) AS r_keyed,
           'job-c:' || length(job) || ':' || job || ':' AS c_prefix,
           'job-r:' || length(job) || ':' || job || ':' AS r_prefix
    FROM (SELECT json_extract(value, '$[0]') AS job, json_extract(value, '$[1]') AS conc,
                 json_extract(value, '$[2]') AS rate
          FROM json_each(:limited))
), c_used AS MATERIALIZED (
    SELECT l.c_prefix || CASE WHEN l.c_keyed THEN coalesce(r.concurrency_group, '') ELSE '' END
               AS scope, max(l.conc) AS conc, count(*) AS n
    FROM lim l JOIN rota_runs r INDEXED BY rota_runs_running
        ON r.job = l.job AND r.state = 'running'
    WHERE l.conc IS NOT NULL
    GROUP BY 1
), r_used AS MATERIALIZED (
    SELECT scope, count(*) AS n FROM rota_rate_starts WHERE expires_at > :now GROUP BY scope
), q_room AS MATERIALIZED (
    SELECT q.name, q.concurrency AS q_conc, q.rate_limit AS q_rate, q.rate_period AS q_period,
           CASE WHEN q.concurrency IS NULL THEN 0 ELSE
               (SELECT count(*) FROM rota_runs r INDEXED BY rota_runs_state_queue
                WHERE r.state = 'running' AND r.queue = q.name
                  AND r.started_at IS NOT NULL) END AS q_c_used,
           coalesce((SELECT n FROM r_used WHERE scope = 'queue-r:' || q.name), 0) AS q_r_used
    FROM rota_queues q
    WHERE q.concurrency IS NOT NULL OR q.rate_limit IS NOT NULL
), q_closed AS MATERIALIZED (
    SELECT name FROM rota_queues WHERE paused = 1
    UNION ALL
    SELECT name FROM q_room
    WHERE NOT :queue_limits OR q_r_used >= q_rate
       OR (q_c_used >= q_conc
           AND NOT (:ahead > 0 AND name IN (SELECT value FROM json_each(:placed_queues))))
), waiting (state, queue) AS (
    SELECT s.state, (SELECT min(r.queue) FROM rota_runs r INDEXED BY rota_runs_state_queue
                     WHERE r.state = s.state)
    FROM (SELECT 'queued' AS state UNION ALL SELECT 'scheduled' UNION ALL SELECT 'retrying') s
    UNION ALL
    SELECT w.state, (SELECT min(r.queue) FROM rota_runs r INDEXED BY rota_runs_state_queue
                     WHERE r.state = w.state AND r.queue > w.queue)
    FROM waiting w WHERE w.queue IS NOT NULL
), q_open AS MATERIALIZED (
    SELECT DISTINCT queue FROM waiting
    WHERE queue IS NOT NULL AND queue NOT IN (SELECT name FROM q_closed)
      AND (:queues IS NULL OR queue IN (SELECT value FROM json_each(:queues)))
), full AS MATERIALIZED (
    SELECT scope FROM c_used WHERE n >= conc
    UNION ALL
    SELECT u.scope FROM r_used u JOIN lim l
      ON l.rate IS NOT NULL AND substr(u.scope, 1, length(l.r_prefix)) = l.r_prefix
    WHERE u.n >= l.rate
), walk AS MATERIALIZED (
    SELECT r.id, r.job, r.queue, r.priority, r.run_at, l.conc, l.rate,
           CASE WHEN l.conc IS NOT NULL THEN l.c_prefix
                || CASE WHEN l.c_keyed THEN coalesce(r.concurrency_group, '') ELSE '' END
           END AS c_scope,
           CASE WHEN l.rate IS NOT NULL THEN l.r_prefix
                || CASE WHEN l.r_keyed THEN coalesce(r.rate_group, '') ELSE '' END
           END AS r_scope
    FROM rota_runs r INDEXED BY rota_runs_claim LEFT JOIN lim l ON l.job = r.job
    WHERE r.state IN ('queued', 'scheduled', 'retrying') AND r.run_at <= :now
      AND (:jobs IS NULL OR r.job IN (SELECT value FROM json_each(:jobs)))
      AND (:queues IS NULL OR r.queue IN (SELECT value FROM json_each(:queues)))
      AND r.queue NOT IN (SELECT name FROM q_closed)
      AND (c_scope IS NULL OR c_scope NOT IN (SELECT scope FROM full))
      AND (r_scope IS NULL OR r_scope NOT IN (SELECT scope FROM full))
    ORDER BY r.priority, r.run_at, r.id
    LIMIT CASE WHEN NOT EXISTS (SELECT 1 FROM q_closed) OR EXISTS (SELECT 1 FROM q_open)
               THEN :scan ELSE 0 END
), ranked AS MATERIALIZED (
    SELECT w.*,
           row_number() OVER (PARTITION BY w.c_scope ORDER BY w.priority, w.run_at, w.id)
               AS c_rank,
           row_number() OVER (PARTITION BY w.r_scope ORDER BY w.priority, w.run_at, w.id)
               AS r_rank,
           row_number() OVER (PARTITION BY w.queue ORDER BY w.priority, w.run_at, w.id)
               AS q_rank
    FROM walk w
)
-- Only the runs that could start: within a group, runs start in claim order, so those past
-- its room are left out here (so are those past a limited queue's room, for runs of jobs
-- without limits of their own, whose group the queue is); admission decides among the rest.
-- The counts are joined to the ranked walk only (at most :scan rows), and a scope's string is
-- built once per walked run, not for every run of an unlimited job.
SELECT c.id, c.job, c.c_scope, c.r_scope, coalesce(cu.n, 0) AS c_used,
       coalesce(ru.n, 0) AS r_used, q.q_conc, coalesce(q.q_c_used, 0) AS q_c_used,
       q.q_rate, q.q_period, coalesce(q.q_r_used, 0) AS q_r_used, c.queue
FROM ranked c
LEFT JOIN c_used cu ON cu.scope = c.c_scope
LEFT JOIN r_used ru ON ru.scope = c.r_scope
LEFT JOIN q_room q ON q.name = c.queue
WHERE (c.c_scope IS NULL OR c.c_rank <= c.conc - coalesce(cu.n, 0))
  AND (c.r_scope IS NULL OR c.r_rank <= c.rate - coalesce(ru.n, 0))
  AND (c.c_scope IS NOT NULL OR c.r_scope IS NOT NULL
       OR ((q.q_conc IS NULL OR c.q_rank <= max(q.q_conc - q.q_c_used, 0) + :ahead)
           AND (q.q_rate IS NULL OR c.q_rank <= q.q_rate - q.q_r_used)))
ORDER BY c.priority, c.run_at, c.id;

-- name: limits_claim
-- The claim event of rota.runs for the admitted runs (compare-and-set on their state); those
-- claimed ahead of their queue's room (:unplaced) are not started (ClaimParams.ahead).
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1,
    started_at = CASE WHEN id IN (SELECT value FROM json_each(:unplaced)) THEN NULL ELSE :now END,
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
