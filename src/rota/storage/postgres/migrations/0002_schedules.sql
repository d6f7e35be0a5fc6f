-- Schedules: triggers that launch a job; next_fire_at is compare-and-set by the scheduler.
CREATE TABLE rota_schedules (
    name          text PRIMARY KEY,
    job           text             NOT NULL,
    kwargs        jsonb            NOT NULL DEFAULT '{}'::jsonb,
    trigger_json  jsonb            NOT NULL,
    trigger_key   text             NOT NULL,
    misfire       text             NOT NULL DEFAULT 'run_once',
    misfire_grace double precision NOT NULL DEFAULT 1,
    overlap       boolean          NOT NULL DEFAULT true,
    paused        boolean          NOT NULL DEFAULT false,
    source        text             NOT NULL DEFAULT 'stored',
    options       jsonb            NOT NULL DEFAULT '{}'::jsonb,
    next_fire_at  timestamptz,
    last_fire_at  timestamptz,
    created_at    timestamptz      NOT NULL,
    updated_at    timestamptz      NOT NULL
);
CREATE INDEX rota_schedules_due ON rota_schedules (next_fire_at) WHERE NOT paused;

-- One row per handled fire time: the primary key makes each fire time create one run at most.
CREATE TABLE rota_schedule_fires (
    schedule  text        NOT NULL,
    fire_time timestamptz NOT NULL,
    outcome   text        NOT NULL,
    run_id    bigint,
    node_id   text,
    fired_at  timestamptz NOT NULL,
    PRIMARY KEY (schedule, fire_time)
);

CREATE INDEX rota_runs_schedule_active ON rota_runs (schedule)
    WHERE schedule IS NOT NULL AND state NOT IN ('succeeded', 'failed', 'cancelled');
