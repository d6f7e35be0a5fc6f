-- Idempotency keys of launches: a key returns its run until expires_at (24 h), whatever
-- happens to the run meanwhile. fingerprint is a digest of job, arguments and options.
CREATE TABLE rota_idempotency (
    key         text        PRIMARY KEY,
    fingerprint text        NOT NULL,
    run_id      bigint,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX rota_idempotency_expires ON rota_idempotency (expires_at);

-- Metrics count runs by state and queue, and fires by schedule and outcome, at every scrape:
-- these covering indexes answer both GROUP BY queries with index-only scans.
CREATE INDEX rota_runs_state_queue ON rota_runs (state, queue);
CREATE INDEX rota_schedule_fires_outcome ON rota_schedule_fires (schedule, outcome);
