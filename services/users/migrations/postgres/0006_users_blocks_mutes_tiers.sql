-- depends: 0005_users_login_throttle
-- Blocks and mutes (issue 20). A pair is one row; its reverse (who blocks
-- me) is read through the second index. relations_version grows with every
-- change touching a user (as blocker, blocked, muter), under that user's row
-- lock, so the Redis relations cache (services/shared/relations.py) keeps
-- only the newest copy of a user's relations.
CREATE TABLE blocks (
    blocker_id bigint NOT NULL REFERENCES users (user_id),
    blocked_id bigint NOT NULL REFERENCES users (user_id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
CREATE INDEX blocks_by_blocker_recent ON blocks (blocker_id, created_at DESC, blocked_id DESC);
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);

CREATE TABLE mutes (
    muter_id   bigint NOT NULL REFERENCES users (user_id),
    muted_id   bigint NOT NULL REFERENCES users (user_id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (muter_id, muted_id),
    CHECK (muter_id <> muted_id)
);
CREATE INDEX mutes_by_muter_recent ON mutes (muter_id, created_at DESC, muted_id DESC);

ALTER TABLE users ADD COLUMN relations_version bigint NOT NULL DEFAULT 0;
-- Account tier: set only by the internal SetUserVerified RPC.
ALTER TABLE users ADD COLUMN verified boolean NOT NULL DEFAULT false;
