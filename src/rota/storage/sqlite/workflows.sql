-- Workflows on SQLite: their rows and steps, and how a step's end moves the steps after it.
-- Every write runs in a BEGIN IMMEDIATE transaction, which serializes writers: no row locks.

-- name: workflow_insert
INSERT INTO rota_workflows (name, created_at, parent_run_id)
VALUES (:name, :now, :parent_run_id)
ON CONFLICT (parent_run_id) DO NOTHING
RETURNING id;

-- name: workflow_by_parent
SELECT id FROM rota_workflows WHERE parent_run_id = :parent_run_id;

-- name: workflow_edges_insert
-- The two arrays are paired by position. Materialized, the pairing is a search of an
-- automatic index: joined as json_each tables it was a nested loop over both (quadratic:
-- 0.3 s for the 1,996 edges of a 1,000-step fan-out, 50 s for 20,000 edges).
INSERT INTO rota_workflow_edges (upstream_id, downstream_id)
WITH u(pos, id) AS MATERIALIZED (SELECT key, value FROM json_each(:ups)),
     d(pos, id) AS MATERIALIZED (SELECT key, value FROM json_each(:downs))
SELECT u.id, d.id FROM u CROSS JOIN d ON d.pos = u.pos;

-- name: workflow_rows
SELECT id, name, created_at, parent_run_id FROM rota_workflows
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: workflows_page
SELECT id, name, created_at, parent_run_id FROM rota_workflows
WHERE id <= coalesce(:before_id - 1, 9223372036854775807)
ORDER BY id DESC
LIMIT :limit;

-- name: workflow_steps
-- The steps of the workflows, upstreams first, each with the names of the steps before it
-- (and its result when asked: a list leaves them out).
SELECT r.workflow_id, r.id, r.step, r.job, r.state,
       CASE WHEN :results THEN r.result END AS result, r.finished_at,
       (SELECT json_group_array(step) FROM (
            SELECT u.step FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
            WHERE e.downstream_id = r.id ORDER BY u.id)) AS after
FROM rota_runs r
WHERE r.workflow_id IN (SELECT value FROM json_each(:ids))
ORDER BY r.workflow_id, r.id;

-- name: workflow_upstream
SELECT u.step, u.result
FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
WHERE e.downstream_id = :id;

-- name: workflow_reopen_targets
-- The steps a retry of these steps puts back: themselves, and every step after them (directly
-- or not) that ended failed or cancelled. A step with a failed or cancelled upstream is no
-- start (it could not run; retried with that upstream, it is reached from it).
WITH RECURSIVE down(id) AS (
    SELECT s.value FROM json_each(:ids) s
    WHERE NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
                      WHERE e.downstream_id = s.value AND u.state IN ('failed', 'cancelled'))
    UNION
    SELECT e.downstream_id FROM down JOIN rota_workflow_edges e ON e.upstream_id = down.id
)
SELECT r.* FROM rota_runs r
WHERE r.id IN (SELECT id FROM down) AND r.state IN ('failed', 'cancelled')
ORDER BY r.id;

-- name: workflow_doom
-- The upstream_failed event of rota.runs: a waiting step with a failed or cancelled upstream,
-- and every waiting step after it, ends cancelled with an UpstreamFailed entry naming the step.
-- It starts from the settled steps and those right after a settled step that ended failed or
-- cancelled: a waiting step has no failed or cancelled upstream but those (one that ended so
-- before doomed it; a reopened step is itself settled, and looks at all its upstreams).
-- Looking at every upstream of every step after the settled ones made each settle of a
-- fan-in's upstream read all of them: quadratic in the fan-in.
WITH RECURSIVE near(id) AS (
    SELECT value FROM json_each(:ids)
    UNION
    SELECT e.downstream_id FROM rota_runs u JOIN rota_workflow_edges e ON e.upstream_id = u.id
    WHERE u.id IN (SELECT value FROM json_each(:ids)) AND u.state IN ('failed', 'cancelled')
), first(id, cause) AS (
    SELECT w.id,
           (SELECT 'upstream step ' || quote(u.step)
                   || CASE u.state WHEN 'failed' THEN ' failed' ELSE ' was cancelled' END
            FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
            WHERE e.downstream_id = w.id AND u.state IN ('failed', 'cancelled')
            ORDER BY u.id LIMIT 1)
    FROM rota_runs w
    WHERE w.id IN (SELECT id FROM near) AND w.state = 'waiting' AND w.workflow_id IS NOT NULL
), doomed(id, cause) AS (
    SELECT id, cause FROM first WHERE cause IS NOT NULL
    UNION
    SELECT e.downstream_id, d.cause
    FROM doomed d
    JOIN rota_workflow_edges e ON e.upstream_id = d.id
    JOIN rota_runs w ON w.id = e.downstream_id AND w.state = 'waiting'
)
UPDATE rota_runs
SET state = 'cancelled', finished_at = :now,
    errors = json_insert(errors, '$[#]', json_object(
        'attempt', attempt, 'type', 'UpstreamFailed', 'message', d.cause,
        'traceback', '', 'at', :at))
FROM (SELECT id, min(cause) AS cause FROM doomed GROUP BY id) d
WHERE rota_runs.id = d.id AND rota_runs.state = 'waiting';

-- name: workflow_release
-- The release event of rota.runs: a waiting step whose upstreams all succeeded is queued.
UPDATE rota_runs SET state = 'queued'
WHERE id IN (
        SELECT value FROM json_each(:ids)
        UNION
        SELECT e.downstream_id FROM rota_workflow_edges e
        WHERE e.upstream_id IN (SELECT value FROM json_each(:ids)))
  AND state = 'waiting' AND workflow_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
                  WHERE e.downstream_id = rota_runs.id AND u.state <> 'succeeded');
