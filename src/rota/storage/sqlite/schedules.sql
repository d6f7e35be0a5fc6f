-- Named schedule queries of the SQLite backend (times are epoch seconds).

-- name: schedules_upsert
INSERT INTO rota_schedules (name, job, kwargs, trigger_json, trigger_key, misfire, misfire_grace,
                            overlap, paused, source, options, next_fire_at, created_at, updated_at)
VALUES (:name, :job, :kwargs, :trigger_json, :trigger_key, :misfire, :misfire_grace, :overlap,
        :paused, :source, :options, :next_fire_at, :now, :now)
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
SELECT * FROM rota_schedules WHERE name = :name;

-- name: schedules_due
SELECT * FROM rota_schedules
WHERE paused = 0 AND next_fire_at <= :now
ORDER BY next_fire_at
LIMIT :limit;

-- name: schedules_next_fire
SELECT min(next_fire_at) AS next_fire_at FROM rota_schedules WHERE paused = 0;

-- name: schedule_cas
UPDATE rota_schedules
SET next_fire_at = :new_next, last_fire_at = :now, updated_at = :now
WHERE name = :name AND next_fire_at = :expected_next AND paused = 0;

-- name: schedule_fire_record
INSERT INTO rota_schedule_fires (schedule, fire_time, outcome, run_id, node_id, fired_at)
VALUES (:schedule, :fire_time, :outcome, :run_id, :node_id, :fired_at)
ON CONFLICT DO NOTHING;

-- name: schedule_fire_link
UPDATE rota_schedule_fires SET run_id = :run_id
WHERE schedule = :schedule AND fire_time = :fire_time;

-- name: schedule_set_paused
UPDATE rota_schedules SET paused = :paused, next_fire_at = :next_fire_at, updated_at = :now
WHERE name = :name;

-- name: schedules_delete
DELETE FROM rota_schedules WHERE name IN (SELECT value FROM json_each(:names));

-- name: schedule_fires
SELECT * FROM rota_schedule_fires WHERE schedule = :name ORDER BY fire_time DESC LIMIT :limit;

-- name: schedule_active_runs
SELECT count(*) AS n FROM rota_runs
WHERE schedule = :name AND state NOT IN ('succeeded', 'failed', 'cancelled');
