-- Named queries of the SQLite backend. Parameters are named (:name); times are epoch seconds.
-- Lists are passed as JSON arrays and read with json_each, so every query stays static.

-- name: runs_insert
INSERT INTO rota_runs (job, queue, state, args, priority, max_attempts, schedule, unique_key,
                       timeout, run_at, created_at, kind)
VALUES (:job, :queue, :state, :args, :priority, :max_attempts, :schedule, :unique_key,
        :timeout, :run_at, :now, :kind)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: runs_find_unique
SELECT id FROM rota_runs
WHERE job = :job AND unique_key = :unique_key
  AND state NOT IN ('succeeded', 'failed', 'cancelled');

-- name: runs_get
SELECT * FROM rota_runs WHERE id = :id;

-- name: runs_list
SELECT * FROM rota_runs
WHERE (:states IS NULL OR state IN (SELECT value FROM json_each(:states)))
  AND (:job IS NULL OR job = :job)
  AND (:queue IS NULL OR queue = :queue)
  AND (:before_id IS NULL OR id < :before_id)
  AND (:created_after IS NULL OR created_at >= :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
ORDER BY id DESC
LIMIT :limit;

-- name: runs_claim
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = :now,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id IN (
    SELECT id FROM rota_runs INDEXED BY rota_runs_claim
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= :now
      AND (:jobs IS NULL OR job IN (SELECT value FROM json_each(:jobs)))
    ORDER BY priority, run_at, id
    LIMIT :limit)
RETURNING *;

-- name: runs_claim_queues
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = :now,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id IN (
    SELECT id FROM rota_runs INDEXED BY rota_runs_claim
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= :now
      AND queue IN (SELECT value FROM json_each(:queues))
      AND (:jobs IS NULL OR job IN (SELECT value FROM json_each(:jobs)))
    ORDER BY priority, run_at, id
    LIMIT :limit)
RETURNING *;

-- name: runs_claim_id
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = :now,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id = :run_id AND state IN ('queued', 'scheduled', 'retrying')
RETURNING *;

-- name: runs_finish
-- A cancel requested while the attempt ran wins over its outcome.
UPDATE rota_runs
SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE :state END,
    finished_at = CASE WHEN cancel_requested = 1 OR :state <> 'retrying' THEN :finished_at END,
    result = :result,
    errors = CASE WHEN :error IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(:error)) END,
    run_at = COALESCE(:run_at, run_at),
    lease_expires_at = NULL
WHERE id = :id AND attempt = :attempt AND node_id = :node_id AND state = 'running';

-- name: runs_release
-- A node stopping gracefully hands back what it could not finish; the attempt is not counted.
UPDATE rota_runs
SET state = 'queued', attempt = attempt - 1, lease_expires_at = NULL, started_at = NULL
WHERE id = :id AND attempt = :attempt AND node_id = :node_id AND state = 'running';

-- name: runs_heartbeat
UPDATE rota_runs SET lease_expires_at = :lease_until
WHERE id IN (SELECT value FROM json_each(:ids)) AND node_id = :node_id AND state = 'running'
RETURNING id, cancel_requested;

-- name: runs_rescue
UPDATE rota_runs
SET state = CASE WHEN cancel_requested = 1 THEN 'cancelled'
                 WHEN attempt >= max_attempts AND kind <> 'batch' THEN 'failed'
                 ELSE 'queued' END,
    finished_at = CASE WHEN cancel_requested = 1 OR (attempt >= max_attempts AND kind <> 'batch')
                       THEN :now END,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'type', 'WorkerLost',
        'message', 'node ' || COALESCE(node_id, '?') || ' stopped heartbeating; its lease expired',
        'traceback', '', 'at', :now_iso)),
    lease_expires_at = NULL
WHERE id IN (
    SELECT id FROM rota_runs
    WHERE state = 'running' AND lease_expires_at < :now
    LIMIT :limit)
RETURNING *;

-- name: runs_progress
UPDATE rota_runs SET progress = :progress
WHERE id = :id AND attempt = :attempt AND state = 'running';

-- name: runs_cancel_waiting
UPDATE rota_runs SET state = 'cancelled', finished_at = :now
WHERE id IN (SELECT value FROM json_each(:ids))
  AND state IN ('queued', 'scheduled', 'retrying')
RETURNING id, state;

-- name: runs_cancel_running
UPDATE rota_runs SET cancel_requested = 1
WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'running'
RETURNING id, state;

-- name: runs_retry
-- A manual retry gives the run a fresh budget of attempts.
UPDATE rota_runs
SET state = 'queued', run_at = :now, finished_at = NULL, cancel_requested = 0,
    lease_expires_at = NULL, max_attempts = attempt + max_attempts
WHERE id IN (SELECT value FROM json_each(:ids)) AND state IN ('failed', 'cancelled')
RETURNING id;

-- name: runs_delete
DELETE FROM rota_runs
WHERE id = :id AND state IN ('succeeded', 'failed', 'cancelled');

-- name: runs_purge
DELETE FROM rota_runs WHERE id IN (
    SELECT id FROM rota_runs
    WHERE state IN (SELECT value FROM json_each(:states))
      AND state IN ('succeeded', 'failed', 'cancelled')
      AND (:before IS NULL OR finished_at < :before)
    LIMIT :limit);

-- name: runs_promote
UPDATE rota_runs SET state = 'queued'
WHERE state IN ('scheduled', 'retrying') AND run_at <= :now;

-- name: runs_foreign_jobs
-- Scans at most :scan waiting due runs of other jobs, in claim order, through the claim index.
SELECT DISTINCT job FROM (
    SELECT job FROM rota_runs INDEXED BY rota_runs_claim
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= :now
      AND (:queues IS NULL OR queue IN (SELECT value FROM json_each(:queues)))
      AND job NOT IN (SELECT value FROM json_each(:jobs))
    ORDER BY priority, run_at, id
    LIMIT :scan)
ORDER BY job;

-- name: runs_count_by_state
SELECT state, count(*) FROM rota_runs GROUP BY state;
