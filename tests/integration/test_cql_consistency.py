"""The consistency levels the services use, read back from the driver of a
connected session, and the keyspace's replication read back from the cluster
(docs/HA.md): LOCAL_QUORUM reads and writes, LOCAL_SERIAL for lightweight
transactions, so with 3 replicas any one node may die unnoticed; the
keyspace replicated as SCYLLA_REPLICATION says (1 on the light stack, 3 under
TOPOLOGY=ha)."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT

from services.shared.config import ScyllaSettings
from services.shared.stores.cassandra import SERIAL, Cql


@pytest.fixture
async def cql(stack_env: dict[str, str]) -> AsyncIterator[Cql]:
    session = await Cql.connect(ScyllaSettings())
    yield session
    await session.close()


async def test_quorum_reads_and_writes_and_local_serial_transactions(cql: Cql) -> None:
    profiles = cql._cluster.profile_manager.profiles
    default = profiles[EXEC_PROFILE_DEFAULT]
    assert default.consistency_level == ConsistencyLevel.LOCAL_QUORUM
    assert default.serial_consistency_level == ConsistencyLevel.LOCAL_SERIAL
    assert profiles[SERIAL].consistency_level == ConsistencyLevel.LOCAL_SERIAL


async def test_a_statement_runs_at_the_profile_level(cql: Cql) -> None:
    statement = await cql.prepare("SELECT key FROM system.local")
    future = cql._session.execute_async(statement.bind(()))
    future.result()
    assert future.message.consistency_level == ConsistencyLevel.LOCAL_QUORUM


async def test_the_keyspace_has_the_configured_replication(cql: Cql,
                                                          stack_env: dict[str, str]) -> None:
    statement = await cql.prepare(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?")
    rows = await cql.execute(statement, (stack_env["SCYLLA_KEYSPACE"],))
    wanted = ast.literal_eval(stack_env["SCYLLA_REPLICATION"])
    replication = rows[0]["replication"]
    assert replication["replication_factor"] == str(wanted["replication_factor"])
