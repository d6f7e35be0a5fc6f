-- Schedules: triggers that launch a job; next_fire_at is compare-and-set by the scheduler.
CREATE TABLE rota_schedules (
    name          TEXT PRIMARY KEY,
    job           TEXT    NOT NULL,
    kwargs        TEXT    NOT NULL DEFAULT '{}',
    trigger_json  TEXT    NOT NULL,
    trigger_key   TEXT    NOT NULL,
    misfire       TEXT    NOT NULL DEFAULT 'run_once',
    misfire_grace REAL    NOT NULL DEFAULT 1,
    overlap       INTEGER NOT NULL DEFAULT 1,
    paused        INTEGER NOT NULL DEFAULT 0,
    source        TEXT    NOT NULL DEFAULT 'stored',
    options       TEXT    NOT NULL DEFAULT '{}',
    next_fire_at  REAL,
    last_fire_at  REAL,
    created_at    REAL    NOT NULL,
    updated_at    REAL    NOT NULL
);
CREATE INDEX rota_schedules_due ON rota_schedules (next_fire_at) WHERE paused = 0;

-- One row per handled fire time: the primary key makes each fire time create one run at most.
CREATE TABLE rota_schedule_fires (
    schedule  TEXT    NOT NULL,
    fire_time REAL    NOT NULL,
    outcome   TEXT    NOT NULL,
    run_id    INTEGER,
    node_id   TEXT,
    fired_at  REAL    NOT NULL,
    PRIMARY KEY (schedule, fire_time)
);

CREATE INDEX rota_runs_schedule_active ON rota_runs (schedule)
    WHERE schedule IS NOT NULL AND state NOT IN ('succeeded', 'failed', 'cancelled');
