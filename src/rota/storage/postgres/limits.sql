-- Flow control in the claim (rota.admission): the claim of a worker that serves limited jobs,
-- serialized per limited job by transaction-level advisory locks (no session state: safe
-- behind PgBouncer).

-- name: limits_lock
-- Keys in ascending order, so that two claims never wait on each other in a cycle (a limited
-- job's key, and one key for every queue limit). For this transaction only, the candidates walk
-- the claim index in order: after a bulk launch, before statistics catch up, the planner would
-- otherwise read every waiting run of the jobs (by bitmap, or by the job index, which it takes
-- for selective) and sort them all: 10 ms for a claim of 8 among 20,000 waiting runs, against
-- 0.7 ms walking the index (and, costs then being huge, no JIT: compiling the query would take
-- far longer than running it). Also says whether any queue has limits.
SELECT count(pg_advisory_xact_lock(k)) AS locked,
       set_config('enable_bitmapscan', 'off', true) AS bitmap,
       set_config('enable_seqscan', 'off', true) AS seq,
       set_config('enable_sort', 'off', true) AS sort,
       set_config('jit', 'off', true) AS jit,
       EXISTS (SELECT 1 FROM rota_queues WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL)
           AS queue_limits
FROM (SELECT k FROM unnest(%(keys)s::bigint[]) AS k ORDER BY k) AS s;

-- name: limits_candidates
-- Due waiting runs of the worker's jobs in claim order, leaving out those of paused queues and
-- of limited groups or queues with no room, each with what its scopes use now: running runs
-- (a finished or rescued run frees its place) and unexpired starts. A new statement after the
-- lock: it sees every claim made before. The walk follows rota_runs_claim and stops after
-- %(scan)s runs. Without %(queue_limits)s (the lock of queue limits not taken), limited
-- queues' runs are left like the one-statement claim leaves them. Past a queue's concurrency
-- room, %(ahead)s more of its runs are candidates to claim ahead (not started,
-- ClaimParams.ahead); a queue without room stays open for them only in %(placed_queues)s. A job's scope is 'job-c:' or 'job-r:', the job's length and name, and the
-- group (unambiguous, any name); a queue's is 'queue-c:' or 'queue-r:' and its name.
WITH c_used AS MATERIALIZED (
    SELECT r.job, 'job-c:' || length(r.job) || ':' || r.job || ':'
                  || CASE WHEN r.job = ANY(%(c_keyed)s::text[]) THEN coalesce(r.concurrency_group, '') ELSE '' END AS scope, count(*) AS n
    FROM rota_runs r
    WHERE r.state = 'running' AND r.job = ANY(%(c_jobs)s::text[])
    GROUP BY 1, 2
), q_lim AS MATERIALIZED (
    SELECT name, concurrency, rate_limit, rate_period FROM rota_queues
    WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL
), q_used AS MATERIALIZED (
    SELECT r.queue, count(*) AS n FROM rota_runs r
    WHERE r.state = 'running' AND r.started_at IS NOT NULL
      AND r.queue IN (SELECT name FROM q_lim WHERE concurrency IS NOT NULL)
    GROUP BY r.queue
), r_used AS MATERIALIZED (
    SELECT scope, count(*) AS n FROM rota_rate_starts
    WHERE expires_at > %(now)s GROUP BY scope
), lim AS MATERIALIZED (
    SELECT job, conc, rate, 'job-r:' || length(job) || ':' || job || ':' AS r_prefix
    FROM unnest(%(l_jobs)s::text[], %(l_conc)s::int[], %(l_rate)s::int[]) AS l(job, conc, rate)
), c_full AS MATERIALIZED (
    SELECT u.scope FROM c_used u JOIN lim l ON l.job = u.job WHERE u.n >= l.conc
), r_full AS MATERIALIZED (
    SELECT u.scope FROM r_used u JOIN lim l ON starts_with(u.scope, l.r_prefix)
    WHERE u.n >= l.rate
), q_closed AS MATERIALIZED (
    SELECT name FROM rota_queues WHERE paused
    UNION ALL
    SELECT name FROM q_lim WHERE NOT %(queue_limits)s::boolean
    UNION ALL
    SELECT u.queue FROM q_used u JOIN q_lim l ON l.name = u.queue
    WHERE u.n >= l.concurrency
      AND NOT (%(ahead)s::int > 0 AND u.queue = ANY(%(placed_queues)s::text[]))
    UNION ALL
    SELECT l.name FROM q_lim l JOIN r_used u ON u.scope = 'queue-r:' || l.name
    WHERE u.n >= l.rate_limit
), cand AS MATERIALIZED (
    SELECT id, job, queue, priority, run_at,
           CASE WHEN job = ANY(%(c_jobs)s::text[]) THEN 'job-c:' || length(job) || ':' || job
                || ':' || CASE WHEN job = ANY(%(c_keyed)s::text[]) THEN coalesce(concurrency_group, '') ELSE '' END END AS c_scope,
           CASE WHEN job = ANY(%(r_jobs)s::text[]) THEN 'job-r:' || length(job) || ':' || job
                || ':' || CASE WHEN job = ANY(%(r_keyed)s::text[]) THEN coalesce(rate_group, '') ELSE '' END END AS r_scope
    FROM rota_runs
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
      AND (%(jobs)s::text[] IS NULL OR job = ANY(%(jobs)s::text[]))
      AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
      AND queue NOT IN (SELECT name FROM q_closed)
      AND NOT (job = ANY(%(c_jobs)s::text[])
               AND 'job-c:' || length(job) || ':' || job || ':' || CASE WHEN job = ANY(%(c_keyed)s::text[]) THEN coalesce(concurrency_group, '') ELSE '' END
                   IN (SELECT scope FROM c_full))
      AND NOT (job = ANY(%(r_jobs)s::text[])
               AND 'job-r:' || length(job) || ':' || job || ':' || CASE WHEN job = ANY(%(r_keyed)s::text[]) THEN coalesce(rate_group, '') ELSE '' END
                   IN (SELECT scope FROM r_full))
    ORDER BY priority, run_at, id
    LIMIT %(scan)s
), ranked AS (
    SELECT c.id, c.job, c.priority, c.run_at, c.c_scope, c.r_scope,
           coalesce(cu.n, 0) AS c_used, coalesce(ru.n, 0) AS r_used,
           q.concurrency AS q_conc, coalesce(qu.n, 0) AS q_c_used,
           q.rate_limit AS q_rate, q.rate_period AS q_period, coalesce(qr.n, 0) AS q_r_used,
           c.queue, l.conc, l.rate,
           row_number() OVER (PARTITION BY c.c_scope ORDER BY c.priority, c.run_at, c.id)
               AS c_rank,
           row_number() OVER (PARTITION BY c.r_scope ORDER BY c.priority, c.run_at, c.id)
               AS r_rank,
           row_number() OVER (PARTITION BY c.queue ORDER BY c.priority, c.run_at, c.id)
               AS q_rank
    FROM cand c
    LEFT JOIN lim l ON l.job = c.job
    LEFT JOIN c_used cu ON cu.scope = c.c_scope
    LEFT JOIN r_used ru ON ru.scope = c.r_scope
    LEFT JOIN q_lim q ON q.name = c.queue
    LEFT JOIN q_used qu ON qu.queue = c.queue
    LEFT JOIN r_used qr ON qr.scope = 'queue-r:' || c.queue
)
-- Only the runs that could start: within a group, runs start in claim order, so those past
-- its room are left out here (so are those past a limited queue's room, for runs of jobs
-- without limits of their own, whose group the queue is); admission decides among the rest.
SELECT id, job, c_scope, r_scope, c_used, r_used, q_conc, q_c_used, q_rate, q_period,
       q_r_used, queue
FROM ranked
WHERE (c_scope IS NULL OR c_rank <= conc - c_used)
  AND (r_scope IS NULL OR r_rank <= rate - r_used)
  AND (c_scope IS NOT NULL OR r_scope IS NOT NULL
       OR ((q_conc IS NULL OR q_rank <= greatest(q_conc - q_c_used, 0) + %(ahead)s::int)
           AND (q_rate IS NULL OR q_rank <= q_rate - q_r_used)))
ORDER BY priority, run_at, id;

-- name: limits_claim
-- The claim event of rota.runs for the admitted runs (compare-and-set on their state), and a
-- start logged for each rate-limited one that was claimed; the starts of those scopes expired
-- for a window's length are deleted (only those scopes: their job's lock is held, so two claims
-- never delete the same rows). Not sooner: a claim whose ``now`` was read before another's,
-- then waited for the lock, still counts the starts that were in its window.
-- A row another transaction holds (a bulk cancel locking its ids in order, say) is skipped,
-- not waited for: the claim holds locks the other may wait on (the job's advisory lock, the
-- rows of the outcomes it wrote), and waiting would be a deadlock.
WITH picked AS (
    SELECT id FROM rota_runs
    WHERE id = ANY(%(ids)s::bigint[]) AND state IN ('queued', 'scheduled', 'retrying')
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE rota_runs r
    SET state = 'running', attempt = r.attempt + 1,
        started_at = CASE WHEN r.id = ANY(%(unplaced)s::bigint[]) THEN NULL
                          ELSE %(now)s::timestamptz END,
        lease_expires_at = %(lease_until)s, node_id = %(node_id)s
    FROM picked
    WHERE r.id = picked.id
    RETURNING r.*
), logged AS (
    INSERT INTO rota_rate_starts (scope, expires_at)
    SELECT v.scope, v.expires_at
    FROM unnest(%(r_ids)s::bigint[], %(r_scopes)s::text[], %(r_expires)s::timestamptz[])
        AS v(id, scope, expires_at)
    JOIN claimed c ON c.id = v.id
), pruned AS (
    DELETE FROM rota_rate_starts
    WHERE scope = ANY(%(r_scopes)s::text[]) AND expires_at <= %(prune_before)s
)
SELECT * FROM claimed;

-- name: limits_queue_claim
-- The claim of a worker none of whose jobs has limits of its own, when some queue has limits:
-- admission in this one statement, after the lock (a new statement: it sees every claim made
-- before). A limited queue's concurrency room is its limit less its started runs (a run claimed
-- ahead and not started holds no place), its rate room its limit less its unexpired starts; a
-- queue paused, or without rate room, or without concurrency room (unless runs may be claimed
-- ahead in it, below) is left. The walk follows rota_runs_claim and stops after %(scan)s runs.
-- The runs of a limited queue start in claim order up to its room, in fair turns with other
-- limited queues (each queue's first run before any queue's second: rota.admission's order,
-- whose groups here are the queues, and a run of a queue without limits its own group), up to
-- %(limit)s runs. Past a concurrency room, up to %(ahead)s more runs of the queue are claimed
-- not started (started_at NULL), within its rate room, when this claim gives places in that
-- queue or the worker holds some there (%(placed_queues)s): each starts only in the place of a
-- run of its queue that ends on the worker (ClaimParams.ahead). A start is logged for each run
-- claimed from a rate-limited queue; that queue's starts expired for a window's length are
-- deleted (see limits_claim).
WITH q_lim AS MATERIALIZED (
    SELECT q.name, q.paused, q.rate_period, q.concurrency,
           q.concurrency - (SELECT count(*) FROM rota_runs r
                            WHERE r.state = 'running' AND r.queue = q.name
                              AND r.started_at IS NOT NULL) AS c_room,
           q.rate_limit - (SELECT count(*) FROM rota_rate_starts s
                           WHERE s.scope = 'queue-r:' || q.name
                             AND s.expires_at > %(now)s) AS r_room
    FROM rota_queues q
    WHERE q.paused OR q.concurrency IS NOT NULL OR q.rate_limit IS NOT NULL
), q_room AS MATERIALIZED (
    SELECT name, paused, rate_period, concurrency, c_room, r_room,
           least(c_room, r_room) AS room,  -- least() passes over a NULL: no such limit
           concurrency IS NOT NULL AND %(ahead)s::int > 0
               AND (c_room > 0 OR name = ANY(%(placed_queues)s::text[])) AS may_ahead
    FROM q_lim
), cand AS MATERIALIZED (
    SELECT id, queue, priority, run_at FROM rota_runs
    WHERE state IN ('queued', 'scheduled', 'retrying') AND run_at <= %(now)s
      AND (%(jobs)s::text[] IS NULL OR job = ANY(%(jobs)s::text[]))
      AND (%(queues)s::text[] IS NULL OR queue = ANY(%(queues)s::text[]))
      AND queue NOT IN (SELECT name FROM q_room
                        WHERE paused OR r_room <= 0 OR (c_room <= 0 AND NOT may_ahead))
    ORDER BY priority, run_at, id
    LIMIT %(scan)s
), ranked AS (
    SELECT c.id, c.priority, c.run_at, l.room, l.c_room, l.r_room, l.may_ahead,
           row_number() OVER (PARTITION BY c.queue ORDER BY c.priority, c.run_at, c.id) AS turn
    FROM cand c LEFT JOIN q_room l ON l.name = c.queue
), classed AS (
    SELECT id, priority, run_at, room, turn, room IS NULL OR turn <= room AS placed
    FROM ranked
    WHERE room IS NULL OR turn <= room
       OR (may_ahead AND turn <= greatest(c_room, 0) + %(ahead)s::int
           AND (r_room IS NULL OR turn <= r_room))
), chosen AS (
    SELECT id, placed FROM classed
    ORDER BY NOT placed, CASE WHEN room IS NULL THEN 1 ELSE turn END, priority, run_at, id
    LIMIT %(limit)s
), picked AS (
    SELECT r.id, c.placed FROM rota_runs r JOIN chosen c ON c.id = r.id
    WHERE r.state IN ('queued', 'scheduled', 'retrying')
    FOR UPDATE OF r SKIP LOCKED
), claimed AS (
    UPDATE rota_runs r
    SET state = 'running', attempt = r.attempt + 1,
        started_at = CASE WHEN picked.placed THEN %(now)s::timestamptz END,
        lease_expires_at = %(lease_until)s, node_id = %(node_id)s
    FROM picked
    WHERE r.id = picked.id
    RETURNING r.*
), logged AS (
    INSERT INTO rota_rate_starts (scope, expires_at)
    SELECT 'queue-r:' || c.queue, %(now)s + l.rate_period * interval '1 second'
    FROM claimed c JOIN q_room l ON l.name = c.queue
    WHERE l.rate_period IS NOT NULL
), pruned AS (
    DELETE FROM rota_rate_starts s
    USING q_room l
    WHERE l.rate_period IS NOT NULL AND l.name IN (SELECT queue FROM claimed)
      AND s.scope = 'queue-r:' || l.name
      AND s.expires_at <= %(now)s - l.rate_period * interval '1 second'
)
SELECT * FROM claimed;

-- name: limits_prune_expired
-- The maintenance's sweep: starts expired before %(before)s, whatever their scope (a claim
-- prunes only the scopes it starts, so a key never started again would keep its rows).
DELETE FROM rota_rate_starts WHERE ctid IN (
    SELECT ctid FROM rota_rate_starts WHERE expires_at <= %(before)s LIMIT %(limit)s);
