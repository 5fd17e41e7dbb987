-- depends: 0001_users
-- Trace context (traceparent) of the change, published as message headers.
ALTER TABLE outbox ADD COLUMN headers jsonb NOT NULL DEFAULT '{}';
