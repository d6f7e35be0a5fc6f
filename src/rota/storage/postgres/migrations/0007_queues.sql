-- Queues as stored by operators (pause, limits). A queue is created by use: it exists while it
-- has runs or a row here. NULL concurrency: no limit; rate_limit and rate_period are both NULL
-- or both set (rate_limit starts per rate_period seconds).
CREATE TABLE rota_queues (
    name        text             PRIMARY KEY,
    paused      boolean          NOT NULL DEFAULT false,
    concurrency integer,
    rate_limit  integer,
    rate_period double precision,
    created_at  timestamptz      NOT NULL,
    updated_at  timestamptz      NOT NULL,
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);
