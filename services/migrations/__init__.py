"""Schema and store migrations of a release, as production runs them.

`python -m services.migrations` applies them (the deploy's migrate Job);
`python -m services.migrations --wait-for <service>` waits until that service's
are applied (a pod's initContainer). The local stack calls the same code
(`python -m stack migrate`, `make up`). Settings come from the environment like
every service's (services/shared/config.py).

The migration files stay with the service that owns the schema:
services/<service>/migrations/postgres/*.sql (yoyo) and
services/<service>/migrations/cql/NNNN_*.cql (sources.py). Streams and search
indexes are not here: each service creates its own at start
(services/shared/events.py, services/search/meili/indexes.py).
"""
