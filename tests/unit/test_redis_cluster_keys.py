"""The keys of the movable-key commands the services send to a cluster are
found in the client (redis-py would ask the server first, COMMAND GETKEYS:
a round trip before every XREAD, from a connection shared by every task)."""

from __future__ import annotations

from services.shared.redis_client import _MOVABLE_KEYS


def test_xread_keys_are_the_streams_not_their_ids() -> None:
    find = _MOVABLE_KEYS["XREAD"]
    assert find(("COUNT", 10, "STREAMS", "tw:inval", "0-0")) == ["tw:inval"]
    assert find((b"BLOCK", 5, b"STREAMS", "a", "b", "1-0", "2-0")) == ["a", "b"]


def test_zunionstore_keys_are_the_destination_and_the_sources() -> None:
    find = _MOVABLE_KEYS["ZUNIONSTORE"]
    assert find(("tr:{*}:scratch", 2, "tr:{*}:1:top", "tr:{*}:2:top", "AGGREGATE", "SUM")) \
        == ["tr:{*}:scratch", "tr:{*}:1:top", "tr:{*}:2:top"]
