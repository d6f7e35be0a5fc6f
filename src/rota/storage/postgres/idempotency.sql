-- Named idempotency-key queries of the PostgreSQL backend.

-- name: idempotency_claim
-- Take the key, or take over an expired one; no row returned: a live key holds it already.
-- A concurrent launch with the same key waits here until the first one commits.
INSERT INTO rota_idempotency (key, fingerprint, run_id, created_at, expires_at)
VALUES (%(key)s, %(fingerprint)s, NULL, %(now)s, %(expires_at)s)
ON CONFLICT (key) DO UPDATE SET
    fingerprint = excluded.fingerprint, run_id = NULL,
    created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE rota_idempotency.expires_at <= %(now)s
RETURNING key;

-- name: idempotency_get
SELECT fingerprint, run_id FROM rota_idempotency WHERE key = %(key)s;

-- name: idempotency_link
UPDATE rota_idempotency SET run_id = %(run_id)s WHERE key = %(key)s;

-- name: idempotency_prune
DELETE FROM rota_idempotency WHERE key IN (
    SELECT key FROM rota_idempotency WHERE expires_at <= %(now)s LIMIT %(limit)s);
