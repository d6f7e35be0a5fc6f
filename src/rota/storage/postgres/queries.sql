-- Named queries of the PostgreSQL backend (psycopg %(name)s parameters).
-- Batches travel as arrays and are unnested, so one statement serves any batch size.

-- name: runs_insert
INSERT INTO rota_runs (job, queue, state, args, priority, max_attempts, schedule, unique_key,
                       timeout, run_at, created_at, kind, concurrency_group, rate_group,
                       workflow_id, step)
SELECT v.job, v.queue, v.state, v.args::jsonb, v.priority, v.max_attempts, v.schedule,
       v.unique_key, v.timeout, v.run_at, %(now)s, v.kind, v.c_group, v.r_group,
       v.workflow_id, v.step
FROM unnest(%(jobs)s::text[], %(queues)s::text[], %(states)s::text[], %(args)s::text[],
            %(priorities)s::int[], %(max_attempts)s::int[], %(schedules)s::text[],
            %(unique_keys)s::text[], %(timeouts)s::float8[], %(run_ats)s::timestamptz[],
            %(kinds)s::text[], %(c_groups)s::text[], %(r_groups)s::text[],
            %(workflow_ids)s::bigint[], %(steps)s::text[])
     WITH ORDINALITY AS v(job, queue, state, args, priority, max_attempts, schedule,
                          unique_key, timeout, run_at, kind, c_group, r_group, workflow_id,
                          step, n)
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
  -- the id bounds as ranges of the primary key, which an OR with IS NULL would hide from a
  -- generic plan: a page far back then seeks its first run instead of walking newer ones
  AND id <= coalesce(%(before_id)s::bigint - 1, 9223372036854775807)
  AND id >= coalesce(%(min_id)s::bigint, 0)
  AND (%(created_after)s::timestamptz IS NULL OR created_at >= %(created_after)s::timestamptz)
  AND (%(created_before)s::timestamptz IS NULL OR created_at < %(created_before)s::timestamptz)
  AND (%(search)s::text IS NULL OR args::text ILIKE %(search)s::text ESCAPE '\')
ORDER BY id DESC
LIMIT %(limit)s;

-- name: runs_newest_id
SELECT max(id) AS id FROM rota_runs;

-- name: runs_finish_and_claim
-- One statement, one round trip: record finished attempts, then claim. Both parts see the
-- same snapshot, which is safe: finished rows are running rows, claimed rows are claimable ones.
-- The finish writes the decisions of rota.runs; the row's cancel flag picks the one made for
-- a cancel requested meanwhile (v.c_*), as in runs_finish. The claim is the claim event of
-- rota.runs: its guard is the table's CLAIMABLE states, and its values (running, attempt + 1)
-- are computed here because the rows are chosen at write time.
-- Plans: the finish joins the rows to v on equalities only (an extra `r.id = ANY(ids)` made
-- the planner expect one row and rescan v once per row, O(n^2): some 17 ms of a claim of 150
-- runs); the claim takes the rows picked as an array, so the UPDATE finds them by primary key
-- (joined to a subquery, it hashed them against a sequential scan of the whole table).
-- The state is compared to a subquery, not the literal 'running': with the literal, the planner
-- may read the running runs through the partial index rota_runs_running (its statistics,
-- taken over a table of mostly ended runs, say one row) and rescan v once per running run,
-- O(running x outcomes): 80 ms to finish 200 runs with 10 million in the table. Here it can
-- only look the outcomes' rows up by id (benchmarks/table_health.py).
WITH finished AS (
    UPDATE rota_runs r
    SET state = CASE WHEN r.cancel_requested THEN v.c_state ELSE v.state END,
        attempt = CASE WHEN r.cancel_requested THEN v.c_attempt ELSE v.next_attempt END,
        finished_at = CASE WHEN r.cancel_requested THEN v.c_finished_at ELSE v.finished_at END,
        run_at = COALESCE(CASE WHEN r.cancel_requested THEN v.c_run_at ELSE v.run_at END,
                          r.run_at),
        result = v.result::jsonb,
        errors = CASE WHEN v.error IS NULL THEN r.errors
                      ELSE r.errors || jsonb_build_array(v.error::jsonb) END,
        started_at = COALESCE(r.started_at, v.started_at),
        lease_expires_at = NULL
    FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(node_ids)s::text[],
                %(states)s::text[], %(next_attempts)s::int[], %(finished)s::text[]::timestamptz[],
                %(run_ats)s::text[]::timestamptz[], %(c_states)s::text[], %(c_attempts)s::int[],
                %(c_finished)s::text[]::timestamptz[], %(c_run_ats)s::text[]::timestamptz[],
                %(results)s::text[], %(errors)s::text[], %(starts)s::text[]::timestamptz[])
         AS v(id, attempt, node_id, state, next_attempt, finished_at, run_at, c_state,
              c_attempt, c_finished_at, c_run_at, result, error, started_at)
    WHERE r.id = v.id AND r.attempt = v.attempt
      AND r.node_id = v.node_id AND r.state = (SELECT 'running')
    RETURNING r.id
), picked AS (
    SELECT ARRAY(
        SELECT id FROM rota_runs
        WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
          AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
          AND (%(jobs)s::text[] IS NULL OR job = ANY(%(jobs)s::text[]))
          -- queues: a paused queue's runs stay where they are; a limited queue's runs are
          -- claimed by the limited claim (rota.storage.admitting)
          AND queue NOT IN (SELECT name FROM rota_queues
                            WHERE paused OR concurrency IS NOT NULL OR rate_limit IS NOT NULL)
        ORDER BY priority, run_at, id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED) AS ids
), claimed AS (
    -- the first %(slots)s in claim order start now; the rest are claimed ahead, not started
    UPDATE rota_runs r
    SET state = 'running', attempt = r.attempt + 1,
        started_at = CASE WHEN array_position(p.ids, r.id) <= %(slots)s
                          THEN %(now)s::timestamptz END,
        lease_expires_at = %(lease_until)s, node_id = %(node_id)s
    FROM picked p
    WHERE r.id = ANY(p.ids)
    RETURNING r.*
)
SELECT f.finished_ids, c.*,
       EXISTS (SELECT 1 FROM rota_queues WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL)
           AS queue_limits
FROM (SELECT coalesce(array_agg(id), '{}') AS finished_ids FROM finished) f
LEFT JOIN claimed c ON true;

-- name: runs_mark_started
-- Runs claimed ahead (not started) that started on their node, each in the place of a run of
-- its queue that ended there: written before that run's outcome, in the same transaction.
UPDATE rota_runs r SET started_at = v.at
FROM unnest(%(s_ids)s::bigint[], %(s_attempts)s::int[], %(s_ats)s::timestamptz[])
     AS v(id, attempt, at)
WHERE r.id = v.id AND r.attempt = v.attempt AND r.node_id = %(node_id)s
  AND r.state = (SELECT 'running') AND r.started_at IS NULL;  -- see runs_finish_and_claim

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
-- The claim event of one run (see runs_finish_and_claim), paused queue or not: it serves
-- `rota exec` and a batch step's own partitions, explicit requests to run this run here now.
UPDATE rota_runs
SET state = 'running', attempt = attempt + 1, started_at = %(now)s,
    lease_expires_at = %(lease_until)s, node_id = %(node_id)s
WHERE id = %(run_id)s AND state IN ('queued', 'scheduled', 'retrying')
RETURNING *;

-- name: runs_finish
-- Writes the decisions of rota.runs while the attempt is held. A cancel requested meanwhile
-- wins: the row's flag picks the decision made for that case (v.c_*), in this same UPDATE.
UPDATE rota_runs r
SET state = CASE WHEN r.cancel_requested THEN v.c_state ELSE v.state END,
    attempt = CASE WHEN r.cancel_requested THEN v.c_attempt ELSE v.next_attempt END,
    finished_at = CASE WHEN r.cancel_requested THEN v.c_finished_at ELSE v.finished_at END,
    run_at = COALESCE(CASE WHEN r.cancel_requested THEN v.c_run_at ELSE v.run_at END,
                      r.run_at),
    result = v.result::jsonb,
    errors = CASE WHEN v.error IS NULL THEN r.errors
                  ELSE r.errors || jsonb_build_array(v.error::jsonb) END,
    started_at = COALESCE(r.started_at, v.started_at),
    lease_expires_at = NULL
FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(node_ids)s::text[],
            %(states)s::text[], %(next_attempts)s::int[], %(finished)s::text[]::timestamptz[],
            %(run_ats)s::text[]::timestamptz[], %(c_states)s::text[], %(c_attempts)s::int[],
            %(c_finished)s::text[]::timestamptz[], %(c_run_ats)s::text[]::timestamptz[],
            %(results)s::text[], %(errors)s::text[], %(starts)s::text[]::timestamptz[])
     AS v(id, attempt, node_id, state, next_attempt, finished_at, run_at, c_state,
          c_attempt, c_finished_at, c_run_at, result, error, started_at)
WHERE r.id = v.id AND r.attempt = v.attempt AND r.node_id = v.node_id
  AND r.state = (SELECT 'running')  -- not the literal: see runs_finish_and_claim
RETURNING r.id, r.attempt;

-- name: runs_release
-- A node stopping gracefully hands back what it could not finish (rota.runs: hand_back).
-- A run asked to cancel meanwhile takes the decision made for that case (c_*) instead.
UPDATE rota_runs r
SET state = CASE WHEN r.cancel_requested THEN v.c_state ELSE v.state END,
    attempt = CASE WHEN r.cancel_requested THEN v.c_attempt ELSE v.next_attempt END,
    finished_at = CASE WHEN r.cancel_requested THEN v.c_finished_at ELSE r.finished_at END,
    started_at = CASE WHEN r.cancel_requested THEN r.started_at END,
    lease_expires_at = NULL
FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(states)s::text[],
            %(next_attempts)s::int[], %(c_states)s::text[], %(c_attempts)s::int[],
            %(c_finished)s::timestamptz[])
     AS v(id, attempt, state, next_attempt, c_state, c_attempt, c_finished_at)
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.id = v.id AND r.attempt = v.attempt
  AND r.node_id = %(node_id)s AND r.state = 'running';

-- name: runs_heartbeat
UPDATE rota_runs SET lease_expires_at = %(lease_until)s
WHERE id = ANY(%(ids)s::bigint[]) AND node_id = %(node_id)s AND state = 'running'
RETURNING id, cancel_requested;

-- name: runs_expired
-- Due for rescue: a lease expired, or (with dead_before) a node dead by liveness: stopped, or
-- not seen since dead_before. A run of a node with no row (drain, exec) has only its lease.
SELECT * FROM rota_runs
WHERE state = 'running'
  AND (lease_expires_at < %(now)s
       OR node_id = ANY(ARRAY(
           SELECT id FROM rota_nodes
           WHERE %(dead_before)s::timestamptz IS NOT NULL
             AND (stopped_at IS NOT NULL OR last_seen_at < %(dead_before)s::timestamptz))))
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED;

-- name: runs_lock
SELECT * FROM rota_runs WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE;

-- name: runs_apply
-- Writes decisions of rota.runs, each only if its row is still as it was read (compare-and-set).
UPDATE rota_runs r
SET state = v.state, attempt = v.attempt, max_attempts = COALESCE(v.max_attempts, r.max_attempts),
    run_at = COALESCE(v.run_at, r.run_at), finished_at = v.finished_at,
    cancel_requested = v.cancel_requested,
    lease_expires_at = CASE WHEN v.clear_lease THEN NULL ELSE r.lease_expires_at END,
    errors = CASE WHEN v.error IS NULL THEN r.errors
                  ELSE r.errors || jsonb_build_array(v.error::jsonb) END
FROM unnest(%(ids)s::bigint[], %(states)s::text[], %(attempts)s::int[],
            %(max_attempts)s::int[], %(run_ats)s::timestamptz[], %(finished)s::timestamptz[],
            %(cancels)s::bool[], %(clear_leases)s::bool[], %(errors)s::text[],
            %(was_states)s::text[], %(was_attempts)s::int[], %(was_cancels)s::bool[],
            %(was_nodes)s::text[])
     AS v(id, state, attempt, max_attempts, run_at, finished_at, cancel_requested, clear_lease,
          error, was_state, was_attempt, was_cancel, was_node)
WHERE r.id = ANY(%(ids)s::bigint[]) AND r.id = v.id AND r.state = v.was_state
  AND r.attempt = v.was_attempt AND r.cancel_requested = v.was_cancel
  AND r.node_id IS NOT DISTINCT FROM v.was_node
  AND (%(expired_at)s::timestamptz IS NULL OR r.lease_expires_at < %(expired_at)s::timestamptz
       OR r.node_id = ANY(ARRAY(
           SELECT id FROM rota_nodes
           WHERE %(dead_before)s::timestamptz IS NOT NULL
             AND (stopped_at IS NOT NULL OR last_seen_at < %(dead_before)s::timestamptz))))
RETURNING r.*;

-- name: runs_progress
UPDATE rota_runs SET progress = %(progress)s::jsonb
WHERE id = %(id)s AND attempt = %(attempt)s AND state = 'running';

-- name: runs_delete
-- A workflow step stays while a step after it has not succeeded: that step may still need its
-- result (rota.Upstream), or its failure, which keeps it from running when retried.
DELETE FROM rota_runs
WHERE id = %(id)s AND state IN ('succeeded', 'failed', 'cancelled')
  AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs d ON d.id = e.downstream_id
                  WHERE e.upstream_id = rota_runs.id AND d.state <> 'succeeded');

-- name: runs_purge
-- A workflow step stays while a step after it has not succeeded: that step may still need its
-- result (rota.Upstream), or its failure, which keeps it from running when retried.
DELETE FROM rota_runs WHERE id IN (
    SELECT id FROM rota_runs r
    WHERE state = ANY(%(states)s::text[])
      AND state IN ('succeeded', 'failed', 'cancelled')
      AND (%(before)s::timestamptz IS NULL OR finished_at < %(before)s::timestamptz)
      AND NOT EXISTS (SELECT 1 FROM rota_workflow_edges e JOIN rota_runs d ON d.id = e.downstream_id
                      WHERE e.upstream_id = r.id AND d.state <> 'succeeded')
    LIMIT %(limit)s);

-- name: runs_promote
-- The due event of rota.runs (scheduled/retrying -> queued).
UPDATE rota_runs SET state = 'queued'
WHERE state IN ('scheduled', 'retrying') AND run_at <= %(now)s;

-- name: runs_count_by_state
SELECT state, count(*) FROM rota_runs GROUP BY state;
