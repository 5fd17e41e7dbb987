-- depends: 0004_users_session_revocation
-- login_failures is keyed on the account a login name resolves to
-- ("user:<id>", or "name:<name>" for a name that is no account's; see
-- services/users/login_throttle.py), and purged once its rows no longer count:
-- the purge finds them by last_failed_at.
CREATE INDEX login_failures_last_failed_at ON login_failures (last_failed_at);
-- Rows keyed the old way (the typed name) would never match again.
DELETE FROM login_failures WHERE login NOT LIKE 'user:%' AND login NOT LIKE 'name:%';
