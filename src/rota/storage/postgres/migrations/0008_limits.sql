-- Flow control: the groups a limited job's run counts in, and the log of rate-limited starts.

-- Set at launch for runs of jobs with a concurrency or rate limit (rota.admission): the JSON
-- text of the key argument's value, or '' for a job-wide limit; NULL for unlimited jobs.
ALTER TABLE rota_runs ADD COLUMN concurrency_group text;
ALTER TABLE rota_runs ADD COLUMN rate_group text;

-- A limited claim counts the running runs of each group: running runs are few, and this index
-- holds only them, so the count never reads the other runs of a job (and a planner with stale
-- statistics after a bulk launch cannot pick the job's index, which holds them all).
CREATE INDEX rota_runs_running ON rota_runs (job, concurrency_group) WHERE state = 'running';

-- One row per start of a rate-limited run (retries start again), kept until the end of the
-- rate's window (expires_at = start + period): "at most N starts in any window of P seconds"
-- holds when each start finds fewer than N unexpired rows of its scope. A token bucket would
-- let a burst of 2N through across a window's edge; this log does not. The claim inserts the
-- rows, in the transaction that starts the runs, and deletes the expired ones.
CREATE TABLE rota_rate_starts (
    scope      text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX rota_rate_starts_expires ON rota_rate_starts (expires_at, scope);
