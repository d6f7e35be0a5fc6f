-- Named schedule queries of the PostgreSQL backend.

-- name: schedules_upsert
INSERT INTO rota_schedules (name, job, kwargs, trigger_json, trigger_key, misfire, misfire_grace,
                            overlap, paused, source, options, next_fire_at, created_at, updated_at)
VALUES (%(name)s, %(job)s, %(kwargs)s::jsonb, %(trigger_json)s::jsonb, %(trigger_key)s,
        %(misfire)s, %(misfire_grace)s, %(overlap)s, %(paused)s, %(source)s, %(options)s::jsonb, %(next_fire_at)s, %(now)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET
    job = excluded.job, kwargs = excluded.kwargs, misfire = excluded.misfire,
    misfire_grace = excluded.misfire_grace, overlap = excluded.overlap,
    source = excluded.source, options = excluded.options, updated_at = excluded.updated_at,
    next_fire_at = CASE WHEN rota_schedules.trigger_key = excluded.trigger_key
                        THEN rota_schedules.next_fire_at ELSE excluded.next_fire_at END,
    trigger_json = CASE WHEN rota_schedules.trigger_key = excluded.trigger_key
                        THEN rota_schedules.trigger_json ELSE excluded.trigger_json END,
    trigger_key = excluded.trigger_key;

-- name: schedules_list
SELECT * FROM rota_schedules ORDER BY name;

-- name: schedule_get
SELECT * FROM rota_schedules WHERE name = %(name)s;

-- name: schedules_due
SELECT * FROM rota_schedules
WHERE NOT paused AND next_fire_at <= %(now)s
ORDER BY next_fire_at
LIMIT %(limit)s;

-- name: schedules_next_fire
SELECT min(next_fire_at) AS next_fire_at FROM rota_schedules WHERE NOT paused;

-- name: schedule_cas
UPDATE rota_schedules
SET next_fire_at = %(new_next)s, last_fire_at = %(now)s, updated_at = %(now)s
WHERE name = %(name)s AND next_fire_at = %(expected_next)s AND NOT paused;

-- name: schedule_fire_record
INSERT INTO rota_schedule_fires (schedule, fire_time, outcome, run_id, node_id, fired_at)
VALUES (%(schedule)s, %(fire_time)s, %(outcome)s, %(run_id)s, %(node_id)s, %(fired_at)s)
ON CONFLICT DO NOTHING;

-- name: schedule_fire_link
UPDATE rota_schedule_fires SET run_id = %(run_id)s
WHERE schedule = %(schedule)s AND fire_time = %(fire_time)s;

-- name: schedule_set_paused
UPDATE rota_schedules SET paused = %(paused)s, next_fire_at = %(next_fire_at)s, updated_at = %(now)s
WHERE name = %(name)s;

-- name: schedules_delete
DELETE FROM rota_schedules WHERE name = ANY(%(names)s::text[]);

-- name: schedule_fires
SELECT * FROM rota_schedule_fires WHERE schedule = %(name)s ORDER BY fire_time DESC LIMIT %(limit)s;

-- name: schedule_active_runs
SELECT count(*) AS n FROM rota_runs
WHERE schedule = %(name)s AND state NOT IN ('succeeded', 'failed', 'cancelled');
