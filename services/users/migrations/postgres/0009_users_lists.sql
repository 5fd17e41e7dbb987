-- depends: 0008_users_pinned_tweet
-- Lists (issue 35): metadata, members and followers. Counts are kept on the
-- list row and changed only under its row lock (SELECT ... FOR UPDATE) in the
-- transaction that inserts or deletes the member or follower row, so they are
-- exact under concurrent adds and the 5,000-member cap holds
-- (services/users/lists.py). Deleting a list cascades to its rows.
CREATE TABLE lists (
    list_id        bigint PRIMARY KEY,
    owner_id       bigint NOT NULL REFERENCES users (user_id),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    private        boolean NOT NULL DEFAULT false,
    member_count   integer NOT NULL DEFAULT 0 CHECK (member_count BETWEEN 0 AND 5000),
    follower_count integer NOT NULL DEFAULT 0 CHECK (follower_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Grows with every change of members or privacy, under the row lock: the
    -- Redis list audience cache keeps only the newest copy.
    version        bigint NOT NULL DEFAULT 0
);
CREATE INDEX lists_by_owner ON lists (owner_id, list_id DESC);

CREATE TABLE list_members (
    list_id  bigint NOT NULL REFERENCES lists (list_id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (user_id),
    added_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX list_members_recent ON list_members (list_id, added_at DESC, user_id DESC);
-- A block removes a user from the blocker's lists: found by member.
CREATE INDEX list_members_by_user ON list_members (user_id);

CREATE TABLE list_followers (
    list_id     bigint NOT NULL REFERENCES lists (list_id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (user_id),
    followed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX list_followers_by_user_recent
    ON list_followers (user_id, followed_at DESC, list_id DESC);
