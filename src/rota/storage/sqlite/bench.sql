-- What `rota bench` runs beside rota: a bare claim loop on a table of its own (the yardstick),
-- and the queries that measure and forget the bench's own runs. Nothing here touches a run,
-- queue, schedule or node that the bench did not make.

-- name: bare_drop
DROP TABLE IF EXISTS rota_bench_bare;

-- name: bare_create
CREATE TABLE rota_bench_bare (
    id         INTEGER PRIMARY KEY,
    state      TEXT NOT NULL DEFAULT 'queued',
    args       TEXT NOT NULL,
    run_at     REAL NOT NULL,
    started_at REAL
);

-- name: bare_index
CREATE INDEX rota_bench_bare_queued ON rota_bench_bare (id) WHERE state = 'queued';

-- name: bare_insert
INSERT INTO rota_bench_bare (args, run_at) VALUES (:args, :now);

-- name: bare_claim
-- Claim k queued rows in one statement, as a job system's claim does at least.
UPDATE rota_bench_bare SET state = 'running', started_at = :now
WHERE id IN (SELECT id FROM rota_bench_bare WHERE state = 'queued' ORDER BY id LIMIT :k)
RETURNING id, args;

-- name: bare_finish
UPDATE rota_bench_bare SET state = 'done' WHERE id IN (SELECT value FROM json_each(:ids));

-- name: bench_span
-- The bench queue's succeeded runs: how many, first start and last finish (epoch seconds).
SELECT count(*), min(started_at), max(finished_at)
FROM rota_runs WHERE queue = :queue AND state = 'succeeded';

-- name: bench_forget_runs
DELETE FROM rota_runs WHERE queue = :queue AND job LIKE :jobs ESCAPE '\';

-- name: bench_forget_queue
DELETE FROM rota_queues WHERE name = :queue;

-- name: bench_forget_fires
DELETE FROM rota_schedule_fires WHERE schedule LIKE :jobs ESCAPE '\';

-- name: bench_forget_schedules
DELETE FROM rota_schedules WHERE name LIKE :jobs ESCAPE '\';

-- name: bench_forget_nodes
DELETE FROM rota_nodes
WHERE hostname = :host AND pid IN (SELECT value FROM json_each(:pids)) AND stopped_at IS NOT NULL;
