-- Named queue queries of the PostgreSQL backend. A queue is in use while it has runs (of any
-- state) or a row in rota_queues; counts are capped, each answered from an index.

-- name: queues_list
-- The names of queues with runs are found by skipping through rota_runs_state_queue: the next
-- name after a name is the least of one seek per state, so the cost follows the names listed,
-- not the runs. Then the stored rows join in.
WITH RECURSIVE used(name, n) AS (
    SELECT (SELECT min(x.queue) FROM unnest(%(states)s::text[]) AS s(state)
            CROSS JOIN LATERAL (SELECT r.queue FROM rota_runs AS r
                                WHERE r.state = s.state AND r.queue > %(after)s
                                ORDER BY r.queue LIMIT 1) AS x), 1
    UNION ALL
    SELECT (SELECT min(x.queue) FROM unnest(%(states)s::text[]) AS s(state)
            CROSS JOIN LATERAL (SELECT r.queue FROM rota_runs AS r
                                WHERE r.state = s.state AND r.queue > u.name
                                ORDER BY r.queue LIMIT 1) AS x), u.n + 1
    FROM used AS u WHERE u.name IS NOT NULL AND u.n < %(limit)s
), names AS (
    SELECT name FROM used WHERE name IS NOT NULL
    UNION
    SELECT name FROM (SELECT name FROM rota_queues WHERE name > %(after)s
                      ORDER BY name LIMIT %(limit)s) AS stored
)
SELECT n.name, coalesce(q.paused, false) AS paused, q.concurrency, q.rate_limit, q.rate_period,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r
                              WHERE r.state = 'queued' AND r.queue = n.name
                              LIMIT %(cap)s) AS c) AS queued,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r
                              WHERE r.state = 'running' AND r.queue = n.name
                              LIMIT %(cap)s) AS c) AS running,
       (SELECT GREATEST(r.created_at, r.run_at) FROM rota_runs AS r
        WHERE r.state = 'queued' AND r.queue = n.name
        ORDER BY GREATEST(r.created_at, r.run_at) LIMIT 1) AS oldest_due
FROM (SELECT name FROM names ORDER BY name LIMIT %(limit)s) AS n
LEFT JOIN rota_queues AS q ON q.name = n.name
ORDER BY n.name;

-- name: queue_get
SELECT n.name, coalesce(q.paused, false) AS paused, q.concurrency, q.rate_limit, q.rate_period,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r
                              WHERE r.state = 'queued' AND r.queue = n.name
                              LIMIT %(cap)s) AS c) AS queued,
       (SELECT count(*) FROM (SELECT 1 FROM rota_runs AS r
                              WHERE r.state = 'running' AND r.queue = n.name
                              LIMIT %(cap)s) AS c) AS running,
       (SELECT GREATEST(r.created_at, r.run_at) FROM rota_runs AS r
        WHERE r.state = 'queued' AND r.queue = n.name
        ORDER BY GREATEST(r.created_at, r.run_at) LIMIT 1) AS oldest_due
FROM (SELECT %(name)s::text AS name) AS n
LEFT JOIN rota_queues AS q ON q.name = n.name;

-- name: queue_set_paused
-- The NOTIFY (delivered on commit) wakes the queue's workers: on a pause, those holding runs
-- of it claimed ahead hand them back; on a resume, they claim again.
INSERT INTO rota_queues (name, paused, created_at, updated_at)
VALUES (%(name)s, %(paused)s, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
RETURNING name, pg_notify('rota_runs', name) AS notified;

-- name: queue_set_limits
INSERT INTO rota_queues (name, paused, concurrency, rate_limit, rate_period, created_at,
                         updated_at)
VALUES (%(name)s, false, %(concurrency)s, %(rate_limit)s, %(rate_period)s, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET
    concurrency = CASE WHEN %(set_concurrency)s THEN excluded.concurrency
                       ELSE rota_queues.concurrency END,
    rate_limit = CASE WHEN %(set_rate)s THEN excluded.rate_limit ELSE rota_queues.rate_limit END,
    rate_period = CASE WHEN %(set_rate)s THEN excluded.rate_period
                       ELSE rota_queues.rate_period END,
    updated_at = excluded.updated_at
RETURNING name, pg_notify('rota_runs', name) AS notified;

-- name: queues_paused
SELECT name FROM rota_queues WHERE paused AND name = ANY(%(names)s::text[]);
