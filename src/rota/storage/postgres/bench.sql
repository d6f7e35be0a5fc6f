-- What `rota bench` runs beside rota: a bare claim loop on a table of its own (the yardstick),
-- and the queries that measure and forget the bench's own runs. Nothing here touches a run,
-- queue, schedule or node that the bench did not make.

-- name: bare_drop
DROP TABLE IF EXISTS rota_bench_bare;

-- name: bare_create
CREATE TABLE rota_bench_bare (
    id         bigserial PRIMARY KEY,
    state      text NOT NULL DEFAULT 'queued',
    args       jsonb NOT NULL,
    run_at     timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz
);

-- name: bare_index
CREATE INDEX rota_bench_bare_queued ON rota_bench_bare (id) WHERE state = 'queued';

-- name: bare_insert
INSERT INTO rota_bench_bare (args) VALUES (%(args)s);

-- name: bare_copy
COPY rota_bench_bare (args) FROM STDIN;

-- name: bare_claim
-- Claim k queued rows in one statement, as a job system's claim does at least.
UPDATE rota_bench_bare SET state = 'running', started_at = now()
WHERE id IN (SELECT id FROM rota_bench_bare WHERE state = 'queued' ORDER BY id LIMIT %(k)s
             FOR UPDATE SKIP LOCKED)
RETURNING id, args;

-- name: bare_finish
UPDATE rota_bench_bare SET state = 'done' WHERE id = ANY(%(ids)s);

-- name: bench_span
-- The bench queue's succeeded runs: how many, first start and last finish (epoch seconds).
SELECT count(*), extract(epoch FROM min(started_at))::float8,
       extract(epoch FROM max(finished_at))::float8
FROM rota_runs WHERE queue = %(queue)s AND state = 'succeeded';

-- name: bench_forget_runs
DELETE FROM rota_runs WHERE queue = %(queue)s AND job LIKE %(jobs)s;

-- name: bench_forget_queue
DELETE FROM rota_queues WHERE name = %(queue)s;

-- name: bench_forget_fires
DELETE FROM rota_schedule_fires WHERE schedule LIKE %(jobs)s;

-- name: bench_forget_schedules
DELETE FROM rota_schedules WHERE name LIKE %(jobs)s;

-- name: bench_forget_nodes
DELETE FROM rota_nodes
WHERE hostname = %(host)s AND pid = ANY(%(pids)s) AND stopped_at IS NOT NULL;
