-- Workflows on PostgreSQL: their rows and steps, and how a step's end moves the steps after it.

-- name: workflow_insert
INSERT INTO rota_workflows (name, created_at, parent_run_id)
VALUES (%(name)s, %(now)s, %(parent_run_id)s)
ON CONFLICT (parent_run_id) DO NOTHING
RETURNING id;

-- name: workflow_by_parent
SELECT id FROM rota_workflows WHERE parent_run_id = %(parent_run_id)s;

-- name: workflow_edges_insert
INSERT INTO rota_workflow_edges (upstream_id, downstream_id)
SELECT * FROM unnest(%(ups)s::bigint[], %(downs)s::bigint[]);

-- name: workflow_rows
SELECT id, name, created_at, parent_run_id FROM rota_workflows
WHERE id = ANY(%(ids)s::bigint[]);

-- name: workflows_page
SELECT id, name, created_at, parent_run_id FROM rota_workflows
WHERE id <= coalesce(%(before_id)s::bigint - 1, 9223372036854775807)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: workflow_steps
-- The steps of the workflows, upstreams first, each with the names of the steps before it
-- (and its result when asked: a list leaves them out).
SELECT r.workflow_id, r.id, r.step, r.job, r.state,
       CASE WHEN %(results)s THEN r.result END AS result, r.finished_at,
       coalesce((SELECT array_agg(u.step ORDER BY u.id)
                 FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
                 WHERE e.downstream_id = r.id), '{}') AS after
FROM rota_runs r
WHERE r.workflow_id = ANY(%(ids)s::bigint[])
ORDER BY r.workflow_id, r.id;

-- name: workflow_upstream
SELECT u.step, u.result
FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
WHERE e.downstream_id = %(id)s;

-- name: workflow_reopen_targets
-- The steps a retry of these steps puts back: themselves, and every step after them (directly
-- or not) that ended failed or cancelled; locked in id order. A step with a failed or cancelled
-- upstream is no start (it could not run; retried with that upstream, it is reached from it).
WITH RECURSIVE down(id) AS (
    SELECT s.id FROM unnest(%(ids)s::bigint[]) AS s(id)
    WHERE NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
                      WHERE e.downstream_id = s.id AND u.state IN ('failed', 'cancelled'))
    UNION
    SELECT e.downstream_id FROM down JOIN rota_workflow_edges e ON e.upstream_id = down.id
)
SELECT r.* FROM rota_runs r
WHERE r.id IN (SELECT id FROM down) AND r.state IN ('failed', 'cancelled')
ORDER BY r.id
FOR UPDATE;

-- name: workflow_lock
-- Settling, first: lock (in id order) the waiting steps it may move: the settled steps and
-- those right after them, and every waiting step after one that has a failed or cancelled
-- upstream. Two transactions settling two upstreams of one step thus take turns, and the
-- statements after this one see what the other committed: the last one releases it.
-- A step right after the settled ones looks only at its upstreams among them: a waiting
-- step has no failed or cancelled upstream but those (one that ended so before doomed it; a
-- reopened step is itself settled, and looks at all its upstreams). Looking at all of them
-- made each settle of a fan-in's upstream read every upstream: quadratic in the fan-in.
WITH RECURSIVE near AS (
    SELECT unnest(%(ids)s::bigint[]) AS id
    UNION
    SELECT e.downstream_id FROM rota_workflow_edges e WHERE e.upstream_id = ANY(%(ids)s::bigint[])
), down(id) AS (
    SELECT e.downstream_id FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
    WHERE e.downstream_id = ANY(%(ids)s::bigint[]) AND u.state IN ('failed', 'cancelled')
    UNION
    SELECT e.downstream_id FROM rota_runs u JOIN rota_workflow_edges e ON e.upstream_id = u.id
    WHERE u.id = ANY(%(ids)s::bigint[]) AND u.state IN ('failed', 'cancelled')
    UNION
    SELECT e.downstream_id FROM down JOIN rota_workflow_edges e ON e.upstream_id = down.id
)
SELECT count(*) AS locked FROM (
    SELECT r.id FROM rota_runs r
    WHERE r.id IN (SELECT id FROM near UNION SELECT id FROM down) AND r.state = 'waiting'
    ORDER BY r.id
    FOR UPDATE) l;

-- name: workflow_doom
-- The upstream_failed event of rota.runs: a waiting step with a failed or cancelled upstream,
-- and every waiting step after it, ends cancelled with an UpstreamFailed entry naming the step.
-- It starts from the settled steps and those right after a settled step that ended failed or
-- cancelled (see workflow_lock).
WITH RECURSIVE near AS (
    SELECT unnest(%(ids)s::bigint[]) AS id
    UNION
    SELECT e.downstream_id FROM rota_runs u JOIN rota_workflow_edges e ON e.upstream_id = u.id
    WHERE u.id = ANY(%(ids)s::bigint[]) AND u.state IN ('failed', 'cancelled')
), doomed(id, cause) AS (
    SELECT w.id, c.cause
    FROM rota_runs w
    CROSS JOIN LATERAL (
        -- the name in single quotes, a quote in it doubled: as SQLite's quote() writes it
        -- (quote_literal would write E'...' around a backslash)
        SELECT 'upstream step ''' || replace(u.step, '''', '''''') || ''''
               || CASE u.state WHEN 'failed' THEN ' failed' ELSE ' was cancelled' END AS cause
        FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
        WHERE e.downstream_id = w.id AND u.state IN ('failed', 'cancelled')
        ORDER BY u.id LIMIT 1) c
    WHERE w.id IN (SELECT id FROM near) AND w.state = 'waiting' AND w.workflow_id IS NOT NULL
    UNION
    SELECT e.downstream_id, d.cause
    FROM doomed d
    JOIN rota_workflow_edges e ON e.upstream_id = d.id
    JOIN rota_runs w ON w.id = e.downstream_id AND w.state = 'waiting'
)
UPDATE rota_runs r
SET state = 'cancelled', finished_at = %(now)s,
    errors = r.errors || jsonb_build_array(jsonb_build_object(
        'attempt', r.attempt, 'type', 'UpstreamFailed', 'message', d.cause,
        'traceback', '', 'at', %(at)s::text))
FROM (SELECT DISTINCT ON (id) id, cause FROM doomed ORDER BY id, cause) d
WHERE r.id = d.id AND r.state = 'waiting';

-- name: workflow_release
-- The release event of rota.runs: a waiting step whose upstreams all succeeded is queued.
UPDATE rota_runs r SET state = 'queued'
WHERE r.id IN (
        SELECT unnest(%(ids)s::bigint[])
        UNION
        SELECT e.downstream_id FROM rota_workflow_edges e
        WHERE e.upstream_id = ANY(%(ids)s::bigint[]))
  AND r.state = 'waiting' AND r.workflow_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs u ON u.id = e.upstream_id
                  WHERE e.downstream_id = r.id AND u.state <> 'succeeded')
RETURNING r.id, pg_notify('rota_runs', r.queue) AS notified;
