-- Queues as stored by operators (pause, limits). A queue is created by use: it exists while it
-- has runs or a row here. NULL concurrency: no limit; rate_limit and rate_period are both NULL
-- or both set (rate_limit starts per rate_period seconds). Times are epoch seconds.
CREATE TABLE rota_queues (
    name        TEXT    PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0,
    concurrency INTEGER,
    rate_limit  INTEGER,
    rate_period REAL,
    created_at  REAL    NOT NULL,
    updated_at  REAL    NOT NULL,
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);
