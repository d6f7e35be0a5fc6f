-- Named batch queries of the PostgreSQL backend (times are timestamptz, JSON is jsonb).

-- name: batch_instance_upsert
INSERT INTO rota_batch_instances (job, identity, args, created_at)
VALUES (%(job)s::text, %(identity)s::text, %(args)s::jsonb, %(now)s::timestamptz)
ON CONFLICT (job, identity) DO UPDATE SET job = excluded.job
RETURNING id;

-- name: batch_instance_lock
-- Concurrent launches of one instance queue here: each reads the executions the last one wrote.
SELECT id FROM rota_batch_instances WHERE id = %(instance_id)s::bigint FOR UPDATE;

-- name: batch_key_held
-- A live run holds this unique key: the launch returns it, so there is nothing to admit.
SELECT id FROM rota_runs
WHERE job = %(job)s::text AND unique_key = %(unique_key)s::text
  AND state NOT IN ('succeeded', 'failed', 'cancelled');

-- name: batch_instance_past
SELECT e.id, e.state, r.state AS run_state,
       (SELECT count(*) FROM rota_batch_steps s JOIN rota_runs c ON c.id = s.run_id
        WHERE s.execution_id = e.id AND s.partition >= 0
          AND s.state NOT IN ('completed', 'failed', 'stopped', 'abandoned')
          AND c.state NOT IN ('succeeded', 'failed', 'cancelled')) AS live_partitions
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.instance_id = %(instance_id)s::bigint ORDER BY e.id;

-- name: batch_execution_insert
INSERT INTO rota_batch_executions (instance_id, job, args, state, run_id, restart_of, created_at)
VALUES (%(instance_id)s::bigint, %(job)s::text, %(args)s::jsonb, %(state)s::text,
        %(run_id)s::bigint, %(restart_of)s::bigint, %(now)s::timestamptz)
RETURNING id;

-- name: batch_run_of
SELECT job, args FROM rota_runs WHERE id = %(run_id)s::bigint;

-- name: batch_execution_get
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.id = %(id)s::bigint;

-- name: batch_execution_for_run
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.run_id = %(run_id)s::bigint ORDER BY e.id DESC LIMIT 1;

-- name: batch_execution_list
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE (%(job)s::text IS NULL OR e.job = %(job)s::text)
  AND (%(states)s::text[] IS NULL OR e.state = ANY(%(states)s::text[]))
  AND (%(before_id)s::bigint IS NULL OR e.id < %(before_id)s::bigint)
ORDER BY e.id DESC LIMIT %(limit)s;

-- name: batch_execution_history
SELECT e.*, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.instance_id = %(instance_id)s::bigint ORDER BY e.id;

-- name: batch_steps_of
SELECT s.*, r.state AS run_state
FROM rota_batch_steps s LEFT JOIN rota_runs r ON r.id = s.run_id
WHERE s.execution_id = ANY(%(ids)s::bigint[])
ORDER BY s.execution_id, s.id;

-- name: batch_transition
WITH held AS (
    SELECT id FROM rota_runs
    WHERE id = %(run_id)s::bigint AND attempt = %(attempt)s::integer AND state = 'running'
      AND (%(node_id)s::text IS NULL OR node_id = %(node_id)s::text)
    FOR NO KEY UPDATE
)
UPDATE rota_batch_executions SET
    state = %(to)s::text,
    started_at = CASE WHEN %(started)s::boolean THEN COALESCE(started_at, %(now)s::timestamptz)
                      ELSE started_at END,
    finished_at = CASE WHEN %(finished)s::boolean THEN %(now)s::timestamptz ELSE finished_at END,
    exit_status = COALESCE(%(exit_status)s::text, exit_status),
    error = COALESCE(%(error)s::text, error),
    ended_attempt = CASE WHEN %(finished)s::boolean THEN %(attempt)s::integer
                         ELSE ended_attempt END
WHERE id = %(id)s::bigint AND state = ANY(%(from_states)s::text[])
  AND (%(run_id)s::bigint IS NULL OR EXISTS (SELECT 1 FROM held));

-- name: batch_step_insert
INSERT INTO rota_batch_steps (execution_id, name, partition, partition_args, run_id, state,
                              read_count, write_count, skip_count, filter_count, commit_count,
                              position, context, started_at, finished_at)
VALUES (%(execution_id)s::bigint, %(name)s::text, %(partition)s::integer,
        %(partition_args)s::jsonb, %(run_id)s::bigint, %(state)s::text,
        %(read)s::bigint, %(written)s::bigint, %(skipped)s::bigint, %(filtered)s::bigint,
        %(commits)s::bigint, %(position)s::bigint, %(context)s::jsonb,
        CASE WHEN %(state)s::text = 'starting' THEN NULL ELSE %(now)s::timestamptz END,
        CASE WHEN %(state)s::text = 'completed' THEN %(now)s::timestamptz END)
ON CONFLICT (execution_id, name, partition) DO UPDATE SET
    state = CASE WHEN rota_batch_steps.state IN ('completed', 'failed', 'stopped', 'abandoned')
                 THEN rota_batch_steps.state ELSE excluded.state END,
    started_at = COALESCE(rota_batch_steps.started_at, excluded.started_at)
RETURNING *;

-- name: batch_chunk_commit
-- Only while this attempt still holds the run, whose row stays locked until the commit: a
-- rescue waits for the chunk, and a rescued run's old worker writes nothing.
WITH held AS (
    SELECT id FROM rota_runs
    WHERE id = %(run_id)s::bigint AND attempt = %(attempt)s::integer AND state = 'running'
      AND (%(node_id)s::text IS NULL OR node_id = %(node_id)s::text)
    FOR NO KEY UPDATE
)
UPDATE rota_batch_steps SET
    read_count = read_count + %(read)s::bigint, write_count = write_count + %(written)s::bigint,
    skip_count = skip_count + %(skipped)s::bigint,
    filter_count = filter_count + %(filtered)s::bigint,
    commit_count = commit_count + 1, position = %(position)s::bigint,
    context = %(context)s::jsonb
WHERE id = %(step_id)s::bigint AND EXISTS (SELECT 1 FROM held)
  AND (SELECT state FROM rota_batch_executions WHERE id = rota_batch_steps.execution_id)
      IN ('started', 'stopping')
  AND (%(expected_commits)s::bigint IS NULL OR commit_count = %(expected_commits)s::bigint)
RETURNING (SELECT state FROM rota_batch_executions WHERE id = rota_batch_steps.execution_id) AS state;

-- name: batch_commit_applied
-- After a refused commit: had a first try of it committed already?
SELECT s.commit_count, e.state
FROM rota_batch_steps s JOIN rota_batch_executions e ON e.id = s.execution_id
WHERE s.id = %(step_id)s::bigint AND s.position = %(position)s::bigint
  AND EXISTS (SELECT 1 FROM rota_runs
              WHERE id = %(run_id)s::bigint AND attempt = %(attempt)s::integer
                AND state = 'running'
                AND (%(node_id)s::text IS NULL OR node_id = %(node_id)s::text));

-- name: batch_run_progress
UPDATE rota_runs SET progress = %(progress)s::jsonb
WHERE id = %(run_id)s::bigint AND attempt = %(attempt)s::integer;

-- name: batch_step_finish
WITH held AS (
    SELECT id FROM rota_runs
    WHERE id = %(run_id)s::bigint AND attempt = %(attempt)s::integer AND state = 'running'
      AND (%(node_id)s::text IS NULL OR node_id = %(node_id)s::text)
    FOR NO KEY UPDATE
)
UPDATE rota_batch_steps SET
    state = %(state)s::text, finished_at = %(now)s::timestamptz,
    exit_status = %(exit_status)s::text, error = %(error)s::text,
    rollback_count = rollback_count + %(rollbacks)s::bigint
WHERE id = %(step_id)s::bigint
  AND (%(run_id)s::bigint IS NULL OR EXISTS (SELECT 1 FROM held));

-- name: batch_execution_lock
-- A manager creating its partitions holds its execution: a concurrent one waits, then finds them.
SELECT id FROM rota_batch_executions WHERE id = %(execution_id)s::bigint FOR UPDATE;

-- name: batch_partitions_of
SELECT s.*, r.state AS run_state
FROM rota_batch_steps s LEFT JOIN rota_runs r ON r.id = s.run_id
WHERE s.execution_id = %(execution_id)s::bigint AND s.name = %(name)s::text
  AND s.partition >= 0
ORDER BY s.partition;

-- name: batch_reconcile_find
SELECT e.id, r.state AS run_state
FROM rota_batch_executions e LEFT JOIN rota_runs r ON r.id = e.run_id
WHERE e.state IN ('starting', 'started', 'stopping')
  AND (r.id IS NULL OR r.state IN ('succeeded', 'failed', 'cancelled'))
LIMIT %(limit)s
FOR UPDATE OF e SKIP LOCKED;

-- name: batch_reconcile_execution
UPDATE rota_batch_executions SET state = %(state)s::text, finished_at = %(now)s::timestamptz,
    error = COALESCE(error, %(error)s::text)
WHERE id = %(id)s::bigint AND state IN ('starting', 'started', 'stopping');

-- name: batch_reconcile_open_steps
UPDATE rota_batch_steps SET state = %(state)s::text, finished_at = %(now)s::timestamptz
WHERE execution_id = %(id)s::bigint AND state IN ('starting', 'started', 'stopping');
