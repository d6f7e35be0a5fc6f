-- Runs: one row per launched execution request. Times are unix epoch seconds (REAL).
CREATE TABLE rota_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job              TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    args             TEXT    NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    schedule         TEXT,
    unique_key       TEXT,
    timeout          REAL,
    run_at           REAL    NOT NULL,
    created_at       REAL    NOT NULL,
    started_at       REAL,
    finished_at      REAL,
    lease_expires_at REAL,
    node_id          TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result           TEXT,
    errors           TEXT    NOT NULL DEFAULT '[]',
    progress         TEXT
);

-- Running runs (few) are found through rota_runs_state, for rescue and heartbeats.
-- Claim order among waiting runs: priority, then run_at, then id.
CREATE INDEX rota_runs_claim ON rota_runs (priority, run_at, id)
    WHERE state IN ('queued', 'scheduled', 'retrying');
CREATE INDEX rota_runs_waiting_at ON rota_runs (run_at)
    WHERE state IN ('queued', 'scheduled', 'retrying');
CREATE UNIQUE INDEX rota_runs_unique_key ON rota_runs (job, unique_key)
    WHERE unique_key IS NOT NULL AND state NOT IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX rota_runs_state ON rota_runs (state, id);
CREATE INDEX rota_runs_job ON rota_runs (job, id);
CREATE INDEX rota_runs_finished ON rota_runs (finished_at)
    WHERE state IN ('succeeded', 'failed', 'cancelled');

CREATE TABLE rota_nodes (
    id           TEXT PRIMARY KEY,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    roles        TEXT NOT NULL,
    started_at   REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    stopped_at   REAL,
    info         TEXT NOT NULL DEFAULT '{}'
);
