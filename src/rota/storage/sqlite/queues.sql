-- Named queue queries of the SQLite backend. A queue is in use while it has runs (of any
-- state) or a row in rota_queues; counts are capped, each answered from an index.

-- name: queues_list
-- The names of queues with runs are found by skipping through rota_runs_state_queue: the next
-- name after a name is the least of one seek per state, so the cost follows the names listed,
-- not the runs. Then the stored rows join in.
WITH RECURSIVE used(name, n) AS (
    SELECT (SELECT min((SELECT r.queue FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                        WHERE r.state = s.value AND r.queue > :after
                        ORDER BY r.queue LIMIT 1))
            FROM json_each(:states) AS s), 1
    UNION ALL
    SELECT (SELECT min((SELECT r.queue FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                        WHERE r.state = s.value AND r.queue > u.name
                        ORDER BY r.queue LIMIT 1))
            FROM json_each(:states) AS s), u.n + 1
    FROM used AS u WHERE u.name IS NOT NULL AND u.n < :limit
), names AS (
    SELECT name FROM used WHERE name IS NOT NULL
    UNION
    SELECT name FROM (SELECT name FROM rota_queues WHERE name > :after
                      ORDER BY name LIMIT :limit)
)
SELECT n.name, coalesce(q.paused, 0) AS paused, q.concurrency, q.rate_limit, q.rate_period,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                              WHERE r.state = 'queued' AND r.queue = n.name
                              LIMIT :cap)) AS queued,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                              WHERE r.state = 'running' AND r.queue = n.name
                              LIMIT :cap)) AS running,
       (SELECT max(r.created_at, r.run_at) FROM rota_runs AS r INDEXED BY rota_runs_queued_due
        WHERE r.state = 'queued' AND r.queue = n.name
        ORDER BY max(r.created_at, r.run_at) LIMIT 1) AS oldest_due
FROM (SELECT name FROM names ORDER BY name LIMIT :limit) AS n
LEFT JOIN rota_queues AS q ON q.name = n.name
ORDER BY n.name;

-- name: queue_get
SELECT n.name, coalesce(q.paused, 0) AS paused, q.concurrency, q.rate_limit, q.rate_period,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                              WHERE r.state = 'queued' AND r.queue = n.name
                              LIMIT :cap)) AS queued,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r INDEXED BY rota_runs_state_queue
                              WHERE r.state = 'running' AND r.queue = n.name
                              LIMIT :cap)) AS running,
       (SELECT max(r.created_at, r.run_at) FROM rota_runs AS r INDEXED BY rota_runs_queued_due
        WHERE r.state = 'queued' AND r.queue = n.name
        ORDER BY max(r.created_at, r.run_at) LIMIT 1) AS oldest_due
FROM (SELECT :name AS name) AS n
LEFT JOIN rota_queues AS q ON q.name = n.name;

-- name: queue_set_paused
-- The commit changes the file's data version, which wakes every worker on it.
INSERT INTO rota_queues (name, paused, created_at, updated_at)
VALUES (:name, :paused, :now, :now)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
RETURNING name;

-- name: queue_set_limits
INSERT INTO rota_queues (name, paused, concurrency, rate_limit, rate_period, created_at,
                         updated_at)
VALUES (:name, 0, :concurrency, :rate_limit, :rate_period, :now, :now)
ON CONFLICT (name) DO UPDATE SET
    concurrency = CASE WHEN :set_concurrency THEN excluded.concurrency
                       ELSE rota_queues.concurrency END,
    rate_limit = CASE WHEN :set_rate THEN excluded.rate_limit ELSE rota_queues.rate_limit END,
    rate_period = CASE WHEN :set_rate THEN excluded.rate_period
                       ELSE rota_queues.rate_period END,
    updated_at = excluded.updated_at
RETURNING name;

-- name: queues_paused
SELECT name FROM rota_queues
WHERE paused = 1 AND name IN (SELECT value FROM json_each(:names));
