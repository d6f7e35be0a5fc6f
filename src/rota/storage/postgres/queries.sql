-- Named queries of the PostgreSQL backend (psycopg %(name)s parameters).
-- Batches travel as arrays and are unnested, so one statement serves any batch size.

-- name: runs_insert
INSERT INTO rota_runs (job, queue, state, args, priority, max_attempts, schedule, unique_key,
                       timeout, run_at, created_at, kind)
SELECT v.job, v.queue, v.state, v.args::jsonb, v.priority, v.max_attempts, v.schedule,
       v.unique_key, v.timeout, v.run_at, %(now)s, v.kind
FROM unnest(%(jobs)s::text[], %(queues)s::text[], %(states)s::text[], %(args)s::text[],
            %(priorities)s::int[], %(max_attempts)s::int[], %(schedules)s::text[],
            %(unique_keys)s::text[], %(timeouts)s::float8[], %(run_ats)s::timestamptz[],
            %(kinds)s::text[])
     WITH ORDINALITY AS v(job, queue, state, args, priority, max_attempts, schedule,
                          unique_key, timeout, run_at, kind, n)
ORDER BY v.n
ON CONFLICT DO NOTHING
RETURNING id, job, unique_key,
    -- wake listeners of the queue; delivered on commit, once per queue per transaction
    CASE WHEN state = 'queued' THEN pg_notify('rota_runs', queue) END AS notified;

-- name: runs_find_unique
SELECT r.id, r.job, r.unique_key
FROM rota_runs r
JOIN unnest(%(jobs)s::text[], %(unique_keys)s::text[]) AS k(job, unique_key)
  ON r.job = k.job AND r.unique_key = k.unique_key
WHERE r.state NOT IN ('succeeded', 'failed', 'cancelled');

-- name: runs_get
SELECT * FROM rota_runs WHERE id = %(id)s;

-- name: runs_list
SELECT * FROM rota_runs
WHERE (%(states)s::text[] IS NULL OR state = ANY(%(states)s::text[]))
  AND (%(job)s::text IS NULL OR job = %(job)s::text)
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
  AND (%(before_id)s::bigint IS NULL OR id < %(before_id)s::bigint)
  AND (%(created_after)s::timestamptz IS NULL OR created_at >= %(created_after)s::timestamptz)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s::timestamptz)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: runs_finish_and_claim
-- One statement, one round trip: record finished attempts, then claim. Both parts see the
-- same snapshot, which is safe: finished rows are running rows, claimed rows are waiting ones.
WITH finished AS (
    UPDATE rota_runs r
    SET state = CASE WHEN r.cancel_requested THEN 'cancelled' ELSE v.state END,
        finished_at = CASE WHEN r.cancel_requested OR v.state <> 'retrying' THEN v.finished_at END,
        result = v.result::jsonb,
        errors = CASE WHEN v.error IS NULL THEN r.errors
                      ELSE r.errors || jsonb_build_array(v.error::jsonb) END,
        run_at = COALESCE(v.run_at, r.run_at),
        lease_expires_at = NULL
    FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(node_ids)s::text[],
                %(states)s::text[], %(finished)s::timestamptz[], %(results)s::text[],
                %(errors)s::text[], %(run_ats)s::timestamptz[])
         AS v(id, attempt, node_id, state, finished_at, result, error, run_at)
    WHERE r.id = ANY(%(ids)s::bigint[]) AND r.id = v.id AND r.attempt = v.attempt
      AND r.node_id = v.node_id AND r.state = 'running'
    RETURNING r.id
), claimed AS (
    UPDATE rota_runs r
    SET state = 'running', attempt = r.attempt + 1, started_at = %(now)s,
        lease_expires_at = %(lease_until)s, node_id = %(node_id)s
    FROM (
        SELECT id FROM rota_runs
        WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
          AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
          AND (%(jobs)s::text[] IS NULL OR job = ANY(%(jobs)s::text[]))
        ORDER BY priority, run_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED) picked
    WHERE r.id = picked.id
    RETURNING r.*
)
SELECT f.finished_ids, c.*
FROM (SELECT coalesce(array_agg(id), '{}') AS finished_ids FROM finished) f
LEFT JOIN claimed c ON true;

-- name: runs_foreign_jobs
-- Scans at most %(scan)s waiting due runs of other jobs, in claim order.
SELECT DISTINCT job FROM (
    SELECT job FROM rota_runs
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
      AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
      AND NOT (job = ANY(%(jobs)s::text[]))
    ORDER BY priority, run_at, id
    LIMIT %(scan)s) w
ORDER BY job;

-- name: runs_claim_id
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = %(now)s,
    lease_expires_at = %(lease_until)s, node_id = %(node_id)s
WHERE id = %(run_id)s AND state IN ('queued', 'scheduled', 'retrying')
RETURNING *;

-- name: runs_finish
-- A cancel requested while the attempt ran wins over its outcome.
UPDATE rota_runs r
SET state = CASE WHEN r.cancel_requested THEN 'cancelled' ELSE v.state END,
    finished_at = CASE WHEN r.cancel_requested OR v.state <> 'retrying' THEN v.finished_at END,
    result = v.result::jsonb,
    errors = CASE WHEN v.error IS NULL THEN r.errors
                  ELSE r.errors || jsonb_build_array(v.error::jsonb) END,
    run_at = COALESCE(v.run_at, r.run_at),
    lease_expires_at = NULL
FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(node_ids)s::text[], %(states)s::text[],
            %(finished)s::timestamptz[], %(results)s::text[], %(errors)s::text[],
            %(run_ats)s::timestamptz[])
     AS v(id, attempt, node_id, state, finished_at, result, error, run_at)
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.id = v.id AND r.attempt = v.attempt
  AND r.node_id = v.node_id AND r.state = 'running'
RETURNING r.id, r.attempt;

-- name: runs_release
-- A node stopping gracefully hands back what it could not finish; the attempt is not counted.
UPDATE rota_runs r
SET state = 'queued', attempt = r.attempt - 1, lease_expires_at = NULL, started_at = NULL
FROM unnest(%(ids)s::bigint[], %(attempts)s::int[]) AS v(id, attempt)
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.id = v.id AND r.attempt = v.attempt
  AND r.node_id = %(node_id)s AND r.state = 'running';

-- name: runs_heartbeat
UPDATE rota_runs SET lease_expires_at = %(lease_until)s
WHERE id = ANY(%(ids)s::bigint[]) AND node_id = %(node_id)s AND state = 'running'
RETURNING id, cancel_requested;

-- name: runs_rescue
UPDATE rota_runs r
SET state = CASE WHEN r.cancel_requested THEN 'cancelled'
                 WHEN r.attempt >= r.max_attempts AND r.kind <> 'batch' THEN 'failed'
                 ELSE 'queued' END,
    finished_at = CASE WHEN r.cancel_requested OR (r.attempt >= r.max_attempts AND r.kind <> 'batch')
                       THEN %(now)s END,
    errors = r.errors || jsonb_build_array(jsonb_build_object(
        'attempt', r.attempt, 'type', 'WorkerLost',
        'message', 'node ' || COALESCE(r.node_id, '?') || ' stopped heartbeating; its lease expired',
        'traceback', '', 'at', %(now_iso)s::text)),
    lease_expires_at = NULL
FROM (
    SELECT id FROM rota_runs
    WHERE state = 'running' AND lease_expires_at < %(now)s
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED) expired
WHERE r.id = expired.id
RETURNING r.*;

-- name: runs_progress
UPDATE rota_runs SET progress = %(progress)s::jsonb
WHERE id = %(id)s AND attempt = %(attempt)s AND state = 'running';

-- name: runs_cancel_waiting
UPDATE rota_runs SET state = 'cancelled', finished_at = %(now)s
WHERE id = ANY(%(ids)s::bigint[]) AND state IN ('queued', 'scheduled', 'retrying')
RETURNING id, state;

-- name: runs_cancel_running
UPDATE rota_runs SET cancel_requested = true
WHERE id = ANY(%(ids)s::bigint[]) AND state = 'running'
RETURNING id, state;

-- name: runs_retry
-- A manual retry gives the run a fresh budget of attempts.
UPDATE rota_runs
SET state = 'queued', run_at = %(now)s, finished_at = NULL, cancel_requested = false,
    lease_expires_at = NULL, max_attempts = attempt + max_attempts
WHERE id = ANY(%(ids)s::bigint[]) AND state IN ('failed', 'cancelled')
RETURNING id;

-- name: runs_delete
DELETE FROM rota_runs
WHERE id = %(id)s AND state IN ('succeeded', 'failed', 'cancelled');

-- name: runs_purge
DELETE FROM rota_runs WHERE id IN (
    SELECT id FROM rota_runs
    WHERE state = ANY(%(states)s::text[])
      AND state IN ('succeeded', 'failed', 'cancelled')
      AND (%(before)s::timestamptz IS NULL OR finished_at < %(before)s::timestamptz)
    LIMIT %(limit)s);

-- name: runs_promote
UPDATE rota_runs SET state = 'queued'
WHERE state IN ('scheduled', 'retrying') AND run_at <= %(now)s;

-- name: runs_count_by_state
SELECT state, count(*) FROM rota_runs GROUP BY state;
