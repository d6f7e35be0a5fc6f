-- Workflows: steps (runs) that depend on each other. A step is a run with workflow_id and step
-- set; rota_workflow_edges says which step comes after which (by run id, upstream first). A
-- workflow's state is derived from its steps' states, never stored. Times are epoch seconds.
CREATE TABLE rota_workflows (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    created_at    REAL NOT NULL,
    -- the run of an @app.workflow job that enqueued it: a retried attempt finds it again
    parent_run_id INTEGER UNIQUE
);

ALTER TABLE rota_runs ADD COLUMN workflow_id INTEGER;
ALTER TABLE rota_runs ADD COLUMN step TEXT;
CREATE INDEX rota_runs_workflow ON rota_runs (workflow_id, id) WHERE workflow_id IS NOT NULL;

CREATE TABLE rota_workflow_edges (
    upstream_id   INTEGER NOT NULL,
    downstream_id INTEGER NOT NULL,
    PRIMARY KEY (upstream_id, downstream_id)
) WITHOUT ROWID;
CREATE INDEX rota_workflow_edges_down ON rota_workflow_edges (downstream_id, upstream_id);
