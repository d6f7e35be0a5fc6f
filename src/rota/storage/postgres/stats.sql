-- Aggregate counts for metrics and the dashboard, each answered from an index (see 0003 and
-- 0006), never by reading the table.

-- name: runs_count_by_state_queue
SELECT state, queue, count(*) AS n FROM rota_runs GROUP BY state, queue;

-- name: runs_count_by_state_queue_upto
-- Each (state, queue) counted up to %(cap)s: the pairs are found by skipping through the
-- index, one seek per pair, so the cost grows with the pairs and the cap, not with the table.
-- (The pair after a pair is one row comparison; walking state by state instead made the
-- planner expect hundreds of pairs and compile the query, ~10 ms of JIT at every call.)
WITH RECURSIVE pairs(state, queue) AS (
    (SELECT state, queue FROM rota_runs ORDER BY state, queue LIMIT 1)
    UNION ALL
    SELECT n.state, n.queue FROM pairs AS p
    CROSS JOIN LATERAL (SELECT r.state, r.queue FROM rota_runs AS r
                        WHERE (r.state, r.queue) > (p.state, p.queue)
                        ORDER BY r.state, r.queue LIMIT 1) AS n
)
SELECT state, queue,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r
                              WHERE r.state = pairs.state AND r.queue = pairs.queue
                              LIMIT %(cap)s) AS upto) AS n
FROM pairs;

-- name: runs_finished_per_minute
-- Minutes are counted from the epoch (whole minutes of seconds), ended runs only. date_part
-- gives the seconds as a double: extract's numeric division took about two fifths of the
-- query (an hour of a million runs a day: 40,000); a microsecond is far above its rounding.
SELECT floor(date_part('epoch', finished_at) / 60)::bigint AS minute, state, count(*) AS n
FROM rota_runs
WHERE state IN ('succeeded', 'failed', 'cancelled')
  AND finished_at >= %(since)s AND finished_at < %(until)s
GROUP BY 1, state;

-- name: runs_oldest_queued
-- Per queue with queued runs, when the oldest one was due: the queues are found by skipping
-- through the index of queued runs, then one seek each.
WITH RECURSIVE queues(queue) AS (
    SELECT (SELECT queue FROM rota_runs
            WHERE state = 'queued' ORDER BY queue LIMIT 1)
    UNION ALL
    SELECT (SELECT r.queue FROM rota_runs AS r
            WHERE r.state = 'queued' AND r.queue > q.queue ORDER BY r.queue LIMIT 1)
    FROM queues AS q WHERE q.queue IS NOT NULL
)
SELECT q.queue,
       (SELECT GREATEST(r.created_at, r.run_at) FROM rota_runs AS r
        WHERE r.state = 'queued' AND r.queue = q.queue
        ORDER BY GREATEST(r.created_at, r.run_at) LIMIT 1) AS due
FROM queues AS q WHERE q.queue IS NOT NULL;

-- name: runs_running_per_node
-- The running runs only (the range of rota_runs_state), however many ended before them.
SELECT node_id, count(*) AS n FROM rota_runs
WHERE state = 'running'
GROUP BY node_id;

-- name: schedule_fire_counts
SELECT schedule, outcome, count(*) AS n FROM rota_schedule_fires GROUP BY schedule, outcome;
