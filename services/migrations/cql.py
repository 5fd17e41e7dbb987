"""ScyllaDB/Cassandra: the keyspace, then each service's versioned CQL scripts,
recorded in <keyspace>.schema_migrations (service, version)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from services.migrations import sources
from services.migrations.errors import MigrationError
from services.migrations.settings import MigrationSettings

log = logging.getLogger("migrations")
logging.getLogger("cassandra").setLevel(logging.WARNING)  # host discovery at INFO
IDENTIFIER = re.compile(r"[A-Za-z_]\w{0,47}")
# Three Cassandra nodes on a busy 2-core machine (TOPOLOGY=ha) took over 30 s
# to agree on a new keyspace.
SCHEMA_AGREEMENT_WAIT = 120.0
CONNECT_TIMEOUT = 10.0


def _keyspace(settings: MigrationSettings) -> str:
    """The keyspace is formatted into statements: only a plain identifier will do."""
    if not IDENTIFIER.fullmatch(settings.scylla_keyspace):
        raise MigrationError(f"SCYLLA_KEYSPACE={settings.scylla_keyspace!r} is not a CQL"
                             " identifier")
    return settings.scylla_keyspace


@contextmanager
def session(settings: MigrationSettings) -> Iterator[Session]:
    # As the services route (services/shared/cassandra.py), in SCYLLA_LOCAL_DC.
    routing = TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.scylla_local_dc))
    cluster = Cluster(settings.host_list, port=settings.scylla_port,
                      execution_profiles={
                          EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=routing)},
                      connect_timeout=CONNECT_TIMEOUT,
                      control_connection_timeout=CONNECT_TIMEOUT)
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def _apply(cql: Any, statement: str) -> None:
    cql.execute(statement, timeout=60)
    # Later statements and other clients must see the new schema on every node.
    if not cql.wait_for_schema_agreement(wait_time=SCHEMA_AGREEMENT_WAIT):
        raise MigrationError(f"no schema agreement after: {statement[:80]}")


def apply(settings: MigrationSettings) -> list[str]:
    """Creates the keyspace and the history table if missing, then runs each
    script not recorded yet; returns the scripts it ran."""
    keyspace = _keyspace(settings)
    ran = []
    with session(settings) as cql:
        _apply(cql, f"CREATE KEYSPACE IF NOT EXISTS {keyspace} "
                    f"WITH replication = {settings.scylla_replication}")
        _apply(cql, f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations ("
                    "service text, version int, applied_at timestamp, "
                    "PRIMARY KEY (service, version))")
        applied = {(row.service, row.version) for row in cql.execute(
            f"SELECT service, version FROM {keyspace}.schema_migrations")}  # noqa: S608 (checked identifier)
        for script in sources.cql_scripts():
            if (script.service, script.version) in applied:
                continue
            log.info("cql: %s: applying %s", script.service, script.path.name)
            for statement in script.statements(keyspace):
                try:
                    _apply(cql, statement)
                except Exception as exc:
                    # CQL DDL is not transactional: scripts use IF NOT EXISTS so
                    # that a rerun after a fix gets past what was already applied.
                    raise MigrationError(f"{script.path}: {exc}\n{statement}") from exc
            cql.execute(
                f"INSERT INTO {keyspace}.schema_migrations (service, version, applied_at) "  # noqa: S608
                "VALUES (%s, %s, toTimestamp(now()))", (script.service, script.version))
            ran.append(f"{script.service}/{script.path.name}")
    return ran


def pending(settings: MigrationSettings, service: str) -> list[str]:
    """The names of `service`'s scripts the keyspace has not recorded."""
    scripts = [s for s in sources.cql_scripts() if s.service == service]
    if not scripts:
        return []
    keyspace = _keyspace(settings)
    with session(settings) as cql:
        applied = {row.version for row in cql.execute(
            f"SELECT version FROM {keyspace}.schema_migrations WHERE service = %s",  # noqa: S608 (checked identifier)
            (service,))}
    return [s.path.name for s in scripts if s.version not in applied]
