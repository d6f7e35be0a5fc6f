-- Aggregate counts for metrics, each answered by an index-only scan (see 0003).

-- name: runs_count_by_state_queue
SELECT state, queue, count(*) AS n FROM rota_runs GROUP BY state, queue;

-- name: schedule_fire_counts
SELECT schedule, outcome, count(*) AS n FROM rota_schedule_fires GROUP BY schedule, outcome;
