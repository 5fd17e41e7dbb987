-- depends: 0003_users_worker_leases
-- Revoked sessions end their access tokens (services/shared/revocations.py):
-- a revocation is announced to every service on Redis; until that is done
-- (Redis down at logout) the users service retries from here.
ALTER TABLE sessions ADD COLUMN revocation_announced boolean NOT NULL DEFAULT false;
CREATE INDEX sessions_unannounced ON sessions (revoked_at)
    WHERE revoked_at IS NOT NULL AND NOT revocation_announced;

-- Retention (services/users/retention.py): a session lives until its newest
-- refresh token expires, or until a while after it is revoked.
ALTER TABLE sessions ADD COLUMN expires_at timestamptz;
UPDATE sessions s SET expires_at = coalesce(
    (SELECT max(t.expires_at) FROM refresh_tokens t WHERE t.session_id = s.session_id),
    s.created_at);
-- The default (the refresh-token lifetime) covers sessions that code from
-- before this migration creates while a deployment rolls.
ALTER TABLE sessions ALTER COLUMN expires_at SET DEFAULT now() + interval '30 days';
ALTER TABLE sessions ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
