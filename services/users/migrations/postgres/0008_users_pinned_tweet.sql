-- depends: 0007_users_login_attempts_in_flight
-- A pinned tweet per profile (issue 35): the tweets service's id, null for
-- none. No foreign key (tweets live in another service's store); a profile
-- read clears a pin whose tweet is gone (services/users/pins.py).
ALTER TABLE users ADD COLUMN pinned_tweet_id bigint;
