-- Users, credentials, sessions, the follow graph and the event outbox.

CREATE TABLE users (
    user_id             bigint PRIMARY KEY,
    username            text NOT NULL CHECK (username ~ '^[A-Za-z0-9_]{1,15}$'),
    email               text NOT NULL,
    password_hash       text NOT NULL,
    display_name        text NOT NULL,
    bio                 text NOT NULL DEFAULT '',
    location            text NOT NULL DEFAULT '',
    website             text NOT NULL DEFAULT '',
    profile_picture_url text NOT NULL DEFAULT '',
    -- Kept exact by updating them in the transaction that changes `follows`.
    follower_count      bigint NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    following_count     bigint NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Unique without regard to case.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE follows (
    follower_id bigint NOT NULL REFERENCES users (user_id),
    followee_id bigint NOT NULL REFERENCES users (user_id),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
-- Followers of a user, newest first (keyset: created_at, follower_id).
CREATE INDEX follows_followers_recent ON follows (followee_id, created_at DESC, follower_id DESC);
-- Following of a user, newest first.
CREATE INDEX follows_following_recent ON follows (follower_id, created_at DESC, followee_id DESC);
-- All follower ids of a user in id order, as an index-only scan (fanout paging).
CREATE INDEX follows_follower_ids ON follows (followee_id, follower_id);

CREATE TABLE sessions (
    session_id bigint PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (user_id),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens are stored as SHA-256 digests; a used one stays (used_at set)
-- so that presenting it again is recognised as reuse and revokes the session.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions (session_id),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Failed logins per login name (whether or not the account exists, so the
-- throttle itself does not reveal which accounts exist).
CREATE TABLE login_failures (
    login          text PRIMARY KEY,
    failures       integer NOT NULL,
    last_failed_at timestamptz NOT NULL,
    locked_until   timestamptz
);

CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event_id   text NOT NULL,
    subject    text NOT NULL,
    type_name  text NOT NULL,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
