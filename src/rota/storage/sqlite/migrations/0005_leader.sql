-- Leader leases: one row per elected role ('maintenance'); the node holding an unexpired row
-- leads. Taken and renewed by compare-and-set with the caller's now (epoch seconds).
CREATE TABLE rota_leader (
    name       TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    elected_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
