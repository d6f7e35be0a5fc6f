-- Aggregate counts for metrics and the dashboard, each answered from an index (see 0003 and
-- 0006), never by reading the table.

-- name: runs_count_by_state_queue
SELECT state, queue, count(*) AS n FROM rota_runs INDEXED BY rota_runs_state_queue
GROUP BY state, queue;

-- name: runs_count_by_state_queue_upto
-- Each (state, queue) counted up to :cap: the pairs are found by skipping through the index,
-- one seek per pair (queue after queue within each of :states, as SQLite bounds an index
-- range by the first column of a row comparison only), so the cost grows with the pairs and
-- the cap, not with the table.
WITH RECURSIVE pairs(state, queue) AS (
    SELECT s.value, (SELECT r.queue FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                     WHERE r.state = s.value ORDER BY r.queue LIMIT 1)
    FROM json_each(:states) AS s
    UNION ALL
    SELECT p.state, (SELECT r.queue FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                     WHERE r.state = p.state AND r.queue > p.queue ORDER BY r.queue LIMIT 1)
    FROM pairs AS p WHERE p.queue IS NOT NULL
)
SELECT state, queue,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                              WHERE r.state = pairs.state AND r.queue = pairs.queue
                              LIMIT :cap)) AS n
FROM pairs WHERE queue IS NOT NULL;

-- name: runs_finished_per_minute
-- Minutes are counted from the epoch (finished_at / 60, whole), ended runs only.
SELECT CAST(finished_at / 60 AS INTEGER) AS minute, state, count(*) AS n
FROM rota_runs INDEXED BY rota_runs_finished
WHERE state IN ('succeeded', 'failed', 'cancelled')
  AND finished_at >= :since AND finished_at < :until
GROUP BY minute, state;

-- name: runs_oldest_queued
-- Per queue with queued runs, when the oldest one was due: the queues are found by skipping
-- through the index of queued runs, then one seek each.
WITH RECURSIVE queues(queue) AS (
    SELECT (SELECT queue FROM rota_runs INDEXED BY rota_runs_queued_due
            WHERE state = 'queued' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT r.queue FROM rota_runs AS r INDEXED BY rota_runs_queued_due
            WHERE r.state = 'queued' AND r.queue > q.queue ORDER BY r.queue LIMIT 1)
    FROM queues AS q WHERE q.queue IS NOT NULL
)
SELECT q.queue,
       (SELECT max(r.created_at, r.run_at) FROM rota_runs AS r INDEXED BY rota_runs_queued_due
        WHERE r.state = 'queued' AND r.queue = q.queue
        ORDER BY max(r.created_at, r.run_at) LIMIT 1) AS due
FROM queues AS q WHERE q.queue IS NOT NULL;

-- name: runs_running_per_node
-- The running runs only (the state's index range), however many ended before them.
SELECT node_id, count(*) AS n FROM rota_runs INDEXED BY rota_runs_state
WHERE state = 'running'
GROUP BY node_id;

-- name: schedule_fire_counts
SELECT schedule, outcome, count(*) AS n
FROM rota_schedule_fires INDEXED BY rota_schedule_fires_outcome
GROUP BY schedule, outcome;
