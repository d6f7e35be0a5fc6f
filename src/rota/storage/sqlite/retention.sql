-- Named retention queries of the SQLite backend (times are epoch seconds): each deletes at
-- most :limit rows, in one short write transaction of its own, so the pruner never holds the
-- write lock for long.

-- name: retention_runs
-- Runs that ended in one state before :before, picked through the ended runs' index
-- (rota_runs_finished). A workflow step stays while a step after it has not succeeded, as in
-- runs_purge. Each holds the write lock for one batch only.
DELETE FROM rota_runs WHERE id IN (
    SELECT id FROM rota_runs AS r INDEXED BY rota_runs_finished
    WHERE state = :state
      AND state IN ('succeeded', 'failed', 'cancelled')
      AND finished_at < :before
      AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs d ON d.id = e.downstream_id
                      WHERE e.upstream_id = r.id AND d.state <> 'succeeded')
    LIMIT :limit);

-- name: retention_fires
-- The fire history beyond the last :keep fires of each schedule (more than any screen shows).
DELETE FROM rota_schedule_fires WHERE (schedule, fire_time) IN (
    SELECT schedule, fire_time FROM (
        SELECT schedule, fire_time,
               row_number() OVER (PARTITION BY schedule ORDER BY fire_time DESC) AS n
        FROM rota_schedule_fires) f
    WHERE n > :keep
    LIMIT :limit);

-- name: retention_batch_steps
-- The step executions of executions whose run was deleted.
DELETE FROM rota_batch_steps WHERE id IN (
    SELECT s.id FROM rota_batch_steps s JOIN rota_batch_executions e ON e.id = s.execution_id
    WHERE e.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rota_runs r WHERE r.id = e.run_id)
    LIMIT :limit);

-- name: retention_batch_executions
-- Executions whose run was deleted (so they ended) and whose steps are gone; the last one of
-- an instance stays when it completed or was abandoned, so the instance is never run again.
DELETE FROM rota_batch_executions WHERE id IN (
    SELECT e.id FROM rota_batch_executions e
    WHERE e.run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rota_runs r WHERE r.id = e.run_id)
      AND NOT EXISTS (SELECT 1 FROM rota_batch_steps s WHERE s.execution_id = e.id)
      AND NOT (e.state IN ('completed', 'abandoned')
               AND e.id = (SELECT max(l.id) FROM rota_batch_executions l
                           WHERE l.instance_id = e.instance_id))
    LIMIT :limit);

-- name: retention_workflow_edges
-- Edges whose two steps are both gone.
DELETE FROM rota_workflow_edges WHERE (upstream_id, downstream_id) IN (
    SELECT e.upstream_id, e.downstream_id FROM rota_workflow_edges e
    WHERE NOT EXISTS (SELECT 1 FROM rota_runs r WHERE r.id = e.upstream_id)
      AND NOT EXISTS (SELECT 1 FROM rota_runs r WHERE r.id = e.downstream_id)
    LIMIT :limit);

-- name: retention_workflows
-- Workflows created before :before whose steps are all gone, and whose parent run (the
-- @app.workflow run that enqueued it, which finds it again when retried) is gone too.
DELETE FROM rota_workflows WHERE id IN (
    SELECT w.id FROM rota_workflows w
    WHERE w.created_at < :before
      AND NOT EXISTS (SELECT 1 FROM rota_runs r WHERE r.workflow_id = w.id)
      AND (w.parent_run_id IS NULL
           OR NOT EXISTS (SELECT 1 FROM rota_runs p WHERE p.id = w.parent_run_id))
    LIMIT :limit);
