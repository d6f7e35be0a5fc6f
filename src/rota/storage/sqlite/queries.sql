-- Named queries of the SQLite backend. Parameters are named (:name); times are epoch seconds.
-- Lists are passed as JSON arrays and read with json_each, so every query stays static.

-- name: runs_insert
INSERT INTO rota_runs (job, queue, state, args, priority, max_attempts, schedule, unique_key,
                       timeout, run_at, created_at, kind, concurrency_group, rate_group,
                       workflow_id, step)
VALUES (:job, :queue, :state, :args, :priority, :max_attempts, :schedule, :unique_key,
        :timeout, :run_at, :now, :kind, :c_group, :r_group, :workflow_id, :step)
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
  -- the id bounds as ranges of the primary key, which an OR with IS NULL would hide: a
  -- page far back then seeks its first run instead of walking every newer one
  AND id <= coalesce(:before_id - 1, 9223372036854775807)
  AND id >= coalesce(:min_id, 0)
  AND (:created_after IS NULL OR created_at >= :created_after)
  AND (:created_before IS NULL OR created_at < :created_before)
  AND (:search IS NULL OR args LIKE :search ESCAPE '\')
ORDER BY id DESC
LIMIT :limit;

-- name: runs_newest_id
SELECT max(id) AS id FROM rota_runs;

-- name: runs_claim
-- The claim event of rota.runs: its guard is the table's CLAIMABLE states, and the new
-- values (running, attempt + 1) are computed here because the rows are chosen at write time.
-- With :ahead, the runs are claimed ahead of the worker's free slots, not started.
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = CASE WHEN :ahead THEN NULL ELSE :now END,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id IN (
    SELECT id FROM rota_runs INDEXED BY rota_runs_claim
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= :now
      AND (:jobs IS NULL OR job IN (SELECT value FROM json_each(:jobs)))
      -- queues: a paused queue's runs stay where they are; a limited queue's runs are
      -- claimed by the limited claim (rota.storage.admitting)
      AND queue NOT IN (SELECT name FROM rota_queues WHERE paused = 1
                        OR concurrency IS NOT NULL OR rate_limit IS NOT NULL)
    ORDER BY priority, run_at, id
    LIMIT :limit)
RETURNING *;

-- name: runs_claim_queues
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = CASE WHEN :ahead THEN NULL ELSE :now END,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id IN (
    SELECT id FROM rota_runs INDEXED BY rota_runs_claim
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= :now
      AND queue IN (SELECT value FROM json_each(:queues))
      AND (:jobs IS NULL OR job IN (SELECT value FROM json_each(:jobs)))
      -- queues: a paused queue's runs stay where they are; a limited queue's runs are
      -- claimed by the limited claim (rota.storage.admitting)
      AND queue NOT IN (SELECT name FROM rota_queues WHERE paused = 1
                        OR concurrency IS NOT NULL OR rate_limit IS NOT NULL)
    ORDER BY priority, run_at, id
    LIMIT :limit)
RETURNING *;

-- name: runs_claim_id
-- The claim event of one run (see runs_claim), paused queue or not: it serves `rota exec` and
-- a batch step's own partitions, explicit requests to run this run here now.
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = :now,
    lease_expires_at = :lease_until, node_id = :node_id
WHERE id = :run_id AND state IN ('queued', 'scheduled', 'retrying')
RETURNING *;

-- name: runs_mark_started
-- Runs claimed ahead (not started) that started on their node, each in the place of a run of
-- its queue that ended there: written before that run's outcome, in the same transaction.
UPDATE rota_runs SET started_at = :at
WHERE id = :id AND attempt = :attempt AND node_id = :node_id
  AND state = 'running' AND started_at IS NULL;

-- name: runs_finish
-- Writes the decisions of rota.runs while the attempt is held. A cancel requested meanwhile
-- wins: the row's flag picks the decision made for that case (:c_*), in this same UPDATE.
UPDATE rota_runs
SET state = CASE WHEN cancel_requested = 1 THEN :c_state ELSE :state END,
    attempt = CASE WHEN cancel_requested = 1 THEN :c_attempt ELSE :next_attempt END,
    finished_at = CASE WHEN cancel_requested = 1 THEN :c_finished_at ELSE :finished_at END,
    run_at = COALESCE(CASE WHEN cancel_requested = 1 THEN :c_run_at ELSE :run_at END, run_at),
    result = :result,
    errors = CASE WHEN :error IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(:error)) END,
    started_at = COALESCE(started_at, :started_at),
    lease_expires_at = NULL
WHERE id = :id AND attempt = :attempt AND node_id = :node_id AND state = 'running';

-- name: runs_release
-- A node stopping gracefully hands back what it could not finish (rota.runs: hand_back); a
-- run asked to cancel meanwhile takes the decision made for that case (:c_*) instead.
UPDATE rota_runs
SET state = CASE WHEN cancel_requested = 1 THEN :c_state ELSE :state END,
    attempt = CASE WHEN cancel_requested = 1 THEN :c_attempt ELSE :next_attempt END,
    finished_at = CASE WHEN cancel_requested = 1 THEN :c_finished_at ELSE finished_at END,
    started_at = CASE WHEN cancel_requested = 1 THEN started_at END,
    lease_expires_at = NULL
WHERE id = :id AND attempt = :attempt AND node_id = :node_id AND state = 'running';

-- name: runs_heartbeat
UPDATE rota_runs SET lease_expires_at = :lease_until
WHERE id IN (SELECT value FROM json_each(:ids)) AND node_id = :node_id AND state = 'running'
RETURNING id, cancel_requested;

-- name: runs_expired
-- Due for rescue: a lease expired, or (with dead_before) a node dead by liveness: stopped, or
-- not seen since dead_before. A run of a node with no row (drain, exec) has only its lease.
SELECT * FROM rota_runs
WHERE state = 'running'
  AND (lease_expires_at < :now
       OR node_id IN (SELECT id FROM rota_nodes
                      WHERE :dead_before IS NOT NULL
                        AND (stopped_at IS NOT NULL OR last_seen_at < :dead_before)))
LIMIT :limit;

-- name: runs_by_ids
SELECT * FROM rota_runs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: runs_apply
-- Writes a decision of rota.runs, only if the row is still as it was read (compare-and-set).
UPDATE rota_runs
SET state = :state, attempt = :attempt, max_attempts = COALESCE(:max_attempts, max_attempts),
    run_at = COALESCE(:run_at, run_at), finished_at = :finished_at,
    cancel_requested = :cancel_requested,
    lease_expires_at = CASE WHEN :clear_lease THEN NULL ELSE lease_expires_at END,
    errors = CASE WHEN :error IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(:error)) END
WHERE id = :id AND state = :was_state AND attempt = :was_attempt
  AND cancel_requested = :was_cancel_requested AND node_id IS :was_node_id
  AND (:expired_at IS NULL OR lease_expires_at < :expired_at
       OR node_id IN (SELECT id FROM rota_nodes
                      WHERE :dead_before IS NOT NULL
                        AND (stopped_at IS NOT NULL OR last_seen_at < :dead_before)))
RETURNING *;

-- name: runs_progress
UPDATE rota_runs SET progress = :progress
WHERE id = :id AND attempt = :attempt AND state = 'running';

-- name: runs_delete
-- A workflow step stays while a step after it has not succeeded: that step may still need its
-- result (rota.Upstream), or its failure, which keeps it from running when retried.
DELETE FROM rota_runs
WHERE id = :id AND state IN ('succeeded', 'failed', 'cancelled')
  AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs d ON d.id = e.downstream_id
                  WHERE e.upstream_id = rota_runs.id AND d.state <> 'succeeded');

-- name: runs_purge
-- A workflow step stays while a step after it has not succeeded: that step may still need its
-- result (rota.Upstream), or its failure, which keeps it from running when retried.
DELETE FROM rota_runs WHERE id IN (
    SELECT id FROM rota_runs r
    WHERE state IN (SELECT value FROM json_each(:states))
      AND state IN ('succeeded', 'failed', 'cancelled')
      AND (:before IS NULL OR finished_at < :before)
      AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs d ON d.id = e.downstream_id
                      WHERE e.upstream_id = r.id AND d.state <> 'succeeded')
    LIMIT :limit);

-- name: runs_promote
-- The due event of rota.runs (scheduled/retrying -> queued).
UPDATE rota_runs INDEXED BY rota_runs_pending SET state = 'queued'
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

-- name: queues_limited
-- Whether any queue has a limit: its runs are then claimed by the limited claim only.
SELECT EXISTS (SELECT 1 FROM rota_queues WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL);
