-- The search service's own index tables (PostgreSQL full-text backend), in a
-- schema of their own: no other service reads them, and search reads no one else's.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS search;

-- array_to_string is only STABLE; hashtags are plain text, so this is immutable.
CREATE FUNCTION search.tags_text(tags text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE search.tweets (
    tweet_id      bigint PRIMARY KEY,
    author_id     bigint NOT NULL,
    content       text NOT NULL,
    hashtags      text[] NOT NULL DEFAULT '{}',   -- lower case, without '#'
    mention_ids   bigint[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    like_count    bigint NOT NULL DEFAULT 0,
    retweet_count bigint NOT NULL DEFAULT 0,
    -- Edit revision of the indexed content: an older edit delivered late never
    -- overwrites a newer one.
    revision      integer NOT NULL DEFAULT 0,
    document      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', content), 'A') ||
        setweight(to_tsvector('simple', search.tags_text(hashtags)), 'B')
    ) STORED
);
CREATE INDEX search_tweets_document ON search.tweets USING gin (document);
CREATE INDEX search_tweets_hashtags ON search.tweets USING gin (hashtags);
CREATE INDEX search_tweets_mentions ON search.tweets USING gin (mention_ids);
CREATE INDEX search_tweets_author ON search.tweets (author_id, tweet_id DESC);
CREATE INDEX search_tweets_recent ON search.tweets (tweet_id DESC);

-- Deleted tweets, so that a create or edit event arriving after the delete
-- (redelivery, reordering) cannot bring a tweet back.
CREATE TABLE search.deleted_tweets (
    tweet_id   bigint PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE search.users (
    user_id        bigint PRIMARY KEY,
    username       text NOT NULL,
    display_name   text NOT NULL DEFAULT '',
    bio            text NOT NULL DEFAULT '',
    profile_picture_url text NOT NULL DEFAULT '',
    follower_count bigint NOT NULL DEFAULT 0,
    document       tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', username), 'A') ||
        setweight(to_tsvector('simple', display_name), 'A') ||
        setweight(to_tsvector('english', bio), 'C')
    ) STORED
);
-- Prefix and typo-tolerant name matching.
CREATE INDEX search_users_username_trgm ON search.users USING gin (lower(username) gin_trgm_ops);
CREATE INDEX search_users_display_trgm ON search.users USING gin (lower(display_name) gin_trgm_ops);
CREATE INDEX search_users_document ON search.users USING gin (document);
