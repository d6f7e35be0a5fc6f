-- Indexes for the dashboard's overview, whose aggregates must not read the table.

-- Runs ended per minute and state: the ended runs' index gains the state, so that it covers
-- the count (it still serves the purge, which filters on finished_at and state).
DROP INDEX rota_runs_finished;
CREATE INDEX rota_runs_finished ON rota_runs (finished_at, state)
    WHERE state IN ('succeeded', 'failed', 'cancelled');

-- The oldest queued run per queue, by when it was due (created, or its run_at if later, as
-- the worker measures queue latency): one seek per queue.
CREATE INDEX rota_runs_queued_due ON rota_runs (queue, max(created_at, run_at))
    WHERE state = 'queued';

-- rota_runs_waiting_at (every waiting run by run_at) served no claim (rota_runs_claim does)
-- and the promotion of due runs only through every queued row: this one holds just the runs
-- that promotion moves.
DROP INDEX rota_runs_waiting_at;
CREATE INDEX rota_runs_pending ON rota_runs (run_at) WHERE state IN ('scheduled', 'retrying');
