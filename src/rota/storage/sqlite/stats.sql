-- Aggregate counts for metrics, each answered from a covering index (see 0003).

-- name: runs_count_by_state_queue
SELECT state, queue, count(*) AS n FROM rota_runs INDEXED BY rota_runs_state_queue
GROUP BY state, queue;

-- name: schedule_fire_counts
SELECT schedule, outcome, count(*) AS n
FROM rota_schedule_fires INDEXED BY rota_schedule_fires_outcome
GROUP BY schedule, outcome;
