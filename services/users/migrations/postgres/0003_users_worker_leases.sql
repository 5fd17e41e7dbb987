-- depends: 0002_outbox_trace_headers
-- Snowflake worker id leases (services/shared/pg_worker_lease.py): a process
-- holds a worker id of its namespace (the service name) until expires_at.
CREATE TABLE worker_leases (
    namespace text NOT NULL,
    worker_id int NOT NULL CHECK (worker_id BETWEEN 0 AND 1023),
    owner text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (namespace, worker_id)
);
