"""The keys of the movable-key commands the services send to a cluster are
found in the client (redis-py would ask the server first, COMMAND GETKEYS:
a round trip before every XREAD, from a connection shared by every task)."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from services.shared.stores.cluster_pipeline import MOVABLE_KEYS
from services.shared.stores.redis_client import (
    CLUSTER_SCHEME,
    _unreachable_as_connection_error,
    connect,
)
from tests.support.scratch_postgres import free_port


def test_xread_keys_are_the_streams_not_their_ids() -> None:
    find = MOVABLE_KEYS["XREAD"]
    assert find(("COUNT", 10, "STREAMS", "tw:inval", "0-0")) == ["tw:inval"]
    assert find((b"BLOCK", 5, b"STREAMS", "a", "b", "1-0", "2-0")) == ["a", "b"]


def test_zunionstore_keys_are_the_destination_and_the_sources() -> None:
    find = MOVABLE_KEYS["ZUNIONSTORE"]
    assert find(("tr:{*}:scratch", 2, "tr:{*}:1:top", "tr:{*}:2:top", "AGGREGATE", "SUM")) \
        == ["tr:{*}:scratch", "tr:{*}:1:top", "tr:{*}:2:top"]



async def test_a_connection_closed_under_a_task_is_a_connection_error() -> None:
    conn = Connection()  # never connected: its writer is None, as after a close
    with pytest.raises(RedisConnectionError), _unreachable_as_connection_error():
        await conn._send_packed_command([b"PING"])
    with pytest.raises(AttributeError), _unreachable_as_connection_error():
        None.writelines([b"x"])  # type: ignore[attr-defined]  # our own bug stays a bug


async def test_a_pipeline_on_an_unreachable_cluster_is_a_connection_error() -> None:
    # `async with` a cluster pipeline connects the client first: with every
    # node down, "cannot be connected" must reach the fallbacks, not a 500.
    client = connect(f"{CLUSTER_SCHEME}127.0.0.1:{free_port()}", socket_timeout=0.2)

    async def pipelined_get() -> None:
        async with client.pipeline(transaction=False) as pipe:
            pipe.get("k")
            await pipe.execute()
    try:
        with pytest.raises(RedisConnectionError):
            await pipelined_get()
    finally:
        await client.aclose()
