-- depends: 0006_users_blocks_mutes_tiers
-- Login attempts hold a slot (in_flight) while their password is verified, so
-- concurrent guesses cannot all pass the throttle's check (issue 31; see
-- services/users/login_throttle.py). reserved_at lets a slot of a process that
-- died mid-login stop counting.
ALTER TABLE login_failures
    ADD COLUMN in_flight integer NOT NULL DEFAULT 0 CHECK (in_flight >= 0),
    ADD COLUMN reserved_at timestamptz NOT NULL DEFAULT now();
