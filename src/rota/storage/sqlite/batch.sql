-- Named batch queries of the SQLite backend (times are epoch seconds, JSON is text).

-- name: batch_instance_upsert
INSERT INTO rota_batch_instances (job, identity, args, created_at)
VALUES (:job, :identity, :args, :now)
ON CONFLICT (job, identity) DO UPDATE SET job = excluded.job
RETURNING id;

-- name: batch_key_held
-- A live run holds this unique key: the launch returns it, so there is nothing to admit.
SELECT id FROM rota_runs
WHERE job = :job AND unique_key = :unique_key
  AND state NOT IN ('succeeded', 'failed', 'cancelled');

-- name: batch_instance_past
SELECT e.id, e.state, r.state AS run_state,
       (SELECT count(*) FROM rota_batch_steps s JOIN rota_runs c ON c.id = s.run_id
        WHERE s.execution_id = e.id AND s.partition >= 0
          AND s.state NOT IN ('completed', 'failed', 'stopped', 'abandoned')
          AND c.state NOT IN ('succeeded', 'failed', 'cancelled')) AS live_partitions
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.instance_id = :instance_id ORDER BY e.id;

-- name: batch_execution_insert
INSERT INTO rota_batch_executions (instance_id, job, args, state, run_id, restart_of, created_at)
VALUES (:instance_id, :job, :args, :state, :run_id, :restart_of, :now)
RETURNING id;

-- name: batch_execution_get
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.id = :id;

-- name: batch_execution_for_run
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.run_id = :run_id ORDER BY e.id DESC LIMIT 1;

-- name: batch_run_of
SELECT job, args FROM rota_runs WHERE id = :run_id;

-- name: batch_execution_list
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE (:job IS NULL OR e.job = :job)
  AND (:states IS NULL OR e.state IN (SELECT value FROM json_each(:states)))
  AND (:before_id IS NULL OR e.id < :before_id)
ORDER BY e.id DESC LIMIT :limit;

-- name: batch_execution_history
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.instance_id = :instance_id ORDER BY e.id;

-- name: batch_steps_of
SELECT s.*, r.state AS run_state
FROM rota_batch_steps s LEFT JOIN rota_runs r ON r.id = s.run_id
WHERE s.execution_id IN (SELECT value FROM json_each(:ids))
ORDER BY s.execution_id, s.id;

-- name: batch_transition
UPDATE rota_batch_executions SET
    state = :to,
    started_at = CASE WHEN :started = 1 THEN COALESCE(started_at, :now) ELSE started_at END,
    finished_at = CASE WHEN :finished = 1 THEN :now ELSE finished_at END,
    exit_status = COALESCE(:exit_status, exit_status),
    error = COALESCE(:error, error),
    ended_attempt = CASE WHEN :finished = 1 THEN :attempt ELSE ended_attempt END
WHERE id = :id AND state IN (SELECT value FROM json_each(:from_states))
  AND (:run_id IS NULL OR EXISTS (
      SELECT 1 FROM rota_runs WHERE id = :run_id AND attempt = :attempt AND state = 'running'
        AND (:node_id IS NULL OR node_id = :node_id)));

-- name: batch_step_insert
INSERT INTO rota_batch_steps (execution_id, name, partition, partition_args, run_id, state,
                              read_count, write_count, skip_count, filter_count, commit_count,
                              position, context, started_at, finished_at)
VALUES (:execution_id, :name, :partition, :partition_args, :run_id, :state,
        :read, :written, :skipped, :filtered, :commits, :position, :context,
        CASE WHEN :state = 'starting' THEN NULL ELSE :now END,
        CASE WHEN :state = 'completed' THEN :now END)
ON CONFLICT (execution_id, name, partition) DO UPDATE SET
    state = CASE WHEN rota_batch_steps.state IN ('completed', 'failed', 'stopped', 'abandoned')
                 THEN rota_batch_steps.state ELSE excluded.state END,
    started_at = COALESCE(rota_batch_steps.started_at, excluded.started_at)
RETURNING *;

-- name: batch_chunk_commit
-- Only while this attempt still holds the run (a rescued or handed-back run's old worker
-- writes nothing) and the execution is running (a partition of an ended execution neither).
UPDATE rota_batch_steps SET
    read_count = read_count + :read, write_count = write_count + :written,
    skip_count = skip_count + :skipped, filter_count = filter_count + :filtered,
    commit_count = commit_count + 1, position = :position, context = :context
WHERE id = :step_id
  AND EXISTS (SELECT 1 FROM rota_runs
              WHERE id = :run_id AND attempt = :attempt AND state = 'running'
                AND (:node_id IS NULL OR node_id = :node_id))
  AND (SELECT state FROM rota_batch_executions WHERE id = rota_batch_steps.execution_id)
      IN ('started', 'stopping')
  AND (:expected_commits IS NULL OR commit_count = :expected_commits)
RETURNING (SELECT state FROM rota_batch_executions WHERE id = rota_batch_steps.execution_id) AS state;

-- name: batch_commit_applied
-- After a refused commit: had a first try of it committed already?
SELECT s.commit_count, e.state
FROM rota_batch_steps s JOIN rota_batch_executions e ON e.id = s.execution_id
WHERE s.id = :step_id AND s.position = :position
  AND EXISTS (SELECT 1 FROM rota_runs
              WHERE id = :run_id AND attempt = :attempt AND state = 'running'
                AND (:node_id IS NULL OR node_id = :node_id));

-- name: batch_run_progress
UPDATE rota_runs SET progress = :progress WHERE id = :run_id AND attempt = :attempt;

-- name: batch_step_finish
UPDATE rota_batch_steps SET
    state = :state, finished_at = :now, exit_status = :exit_status, error = :error,
    rollback_count = rollback_count + :rollbacks
WHERE id = :step_id
  AND (:run_id IS NULL OR EXISTS (
      SELECT 1 FROM rota_runs WHERE id = :run_id AND attempt = :attempt AND state = 'running'
        AND (:node_id IS NULL OR node_id = :node_id)));

-- name: batch_partitions_of
SELECT s.*, r.state AS run_state
FROM rota_batch_steps s LEFT JOIN rota_runs r ON r.id = s.run_id
WHERE s.execution_id = :execution_id AND s.name = :name AND s.partition >= 0
ORDER BY s.partition;

-- name: batch_reconcile_find
SELECT e.id, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.state IN ('starting', 'started', 'stopping')
  AND (r.id IS NULL OR r.state IN ('succeeded', 'failed', 'cancelled'))
LIMIT :limit;

-- name: batch_reconcile_execution
UPDATE rota_batch_executions SET state = :state, finished_at = :now,
    error = COALESCE(error, :error)
WHERE id = :id AND state IN ('starting', 'started', 'stopping');

-- name: batch_reconcile_open_steps
UPDATE rota_batch_steps SET state = :state, finished_at = :now
WHERE execution_id = :id AND state IN ('starting', 'started', 'stopping');
