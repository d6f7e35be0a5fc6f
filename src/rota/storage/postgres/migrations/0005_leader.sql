-- Leader leases: one row per elected role ('maintenance'); the node holding an unexpired row
-- leads. Taken and renewed by compare-and-set with the caller's now: a single statement each,
-- so it works behind PgBouncer in transaction mode, unlike a session advisory lock.
CREATE TABLE rota_leader (
    name       text        PRIMARY KEY,
    node_id    text        NOT NULL,
    elected_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
