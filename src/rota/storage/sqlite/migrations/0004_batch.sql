-- Batch jobs (the Spring Batch model). Times are unix epoch seconds (REAL), JSON is text.

-- A run's kind: 'batch' runs (a batch execution or one partition of one) are requeued when
-- their node dies whatever their attempts: the batch runner bounds those resumes itself.
ALTER TABLE rota_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'function';

-- An instance: a batch job plus its identifying arguments (identity is their digest).
CREATE TABLE rota_batch_instances (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job        TEXT NOT NULL,
    identity   TEXT NOT NULL,
    args       TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (job, identity)
);

-- An execution: one attempt at an instance, carried by one run (run_id).
CREATE TABLE rota_batch_executions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES rota_batch_instances (id),
    job         TEXT    NOT NULL,
    args        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    run_id      INTEGER,
    restart_of  INTEGER,
    exit_status TEXT,
    ended_attempt INTEGER,
    error       TEXT,
    created_at  REAL    NOT NULL,
    started_at  REAL,
    finished_at REAL
);
CREATE INDEX rota_batch_executions_instance ON rota_batch_executions (instance_id, id);
CREATE INDEX rota_batch_executions_run ON rota_batch_executions (run_id);
CREATE INDEX rota_batch_executions_job ON rota_batch_executions (job, id);
CREATE INDEX rota_batch_executions_active ON rota_batch_executions (id)
    WHERE state IN ('starting', 'started', 'stopping');

-- A step execution, or one partition of a partitioned step (partition >= 0; -1 otherwise).
-- position and context are the checkpoint, written in the same transaction as each chunk.
CREATE TABLE rota_batch_steps (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id   INTEGER NOT NULL REFERENCES rota_batch_executions (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    partition      INTEGER NOT NULL DEFAULT -1,
    partition_args TEXT,
    run_id         INTEGER,
    state          TEXT    NOT NULL,
    read_count     INTEGER NOT NULL DEFAULT 0,
    write_count    INTEGER NOT NULL DEFAULT 0,
    skip_count     INTEGER NOT NULL DEFAULT 0,
    filter_count   INTEGER NOT NULL DEFAULT 0,
    commit_count   INTEGER NOT NULL DEFAULT 0,
    rollback_count INTEGER NOT NULL DEFAULT 0,
    position       INTEGER NOT NULL DEFAULT 0,
    context        TEXT    NOT NULL DEFAULT '{}',
    exit_status    TEXT,
    error          TEXT,
    started_at     REAL,
    finished_at    REAL,
    UNIQUE (execution_id, name, partition)
);
