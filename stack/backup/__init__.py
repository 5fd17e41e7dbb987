"""Backups of every durable store to S3, restores into an empty stack, and the drill.

- PostgreSQL: pgBackRest (Debian package) full/incremental backups plus continuous
  WAL archiving from the live server, so any point in time after the first backup
  can be restored (pgbackrest.py).
- Cassandra: `nodetool snapshot` per keyspace; SSTables are immutable, so only files
  not yet in the backup store are uploaded; `nodetool import` restores (cassandra.py).
- JetStream: the stream's snapshot through the JetStream API, with its consumers'
  state (jetstream.py).
- Media objects: bucket versioning in place and a copy of every object (media.py).

Redis and the search index are rebuilt, not restored (docs/OPERATIONS.md).
Every backup is described by one manifest, `labels/<label>.json` (catalog.py).
"""
