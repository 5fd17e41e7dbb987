"""Cluster pipelines and commands sent straight to their nodes: the common
case of redis-py's cluster client at half its CPU for a pipeline, about a
quarter less for a command.

redis-py routes each queued command through its generic machinery (command
policies, the keys found by a parser of COMMAND's output, a task per node
gathered), about 100 us of CPU for a pipeline of five commands on three
nodes, as much as the round trip itself: a home page sends three such
pipelines. Here the slot of each command is read off its arguments, the
commands are written to every node they go to, and then the replies are read
node by node, on one task. The replies are parsed by the same response
callbacks, so results are the same objects redis-py returns.

Anything out of the ordinary goes back to redis-py: a command whose keys this
module does not know how to find, a slot the map does not cover, replicas
read from, or a connection that fails (redis-py then retries the pipeline as
it always does, sending it whole again). Replies that redirect (MOVED, ASK,
TRYAGAIN while a slot moves) are followed command by command, as redis-py
does. docs/CAPACITY.md has the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.crc import key_slot
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Commands whose one key is their first argument (those the services pipeline).
_FIRST_KEY = frozenset({
    "GET", "SET", "GETEX", "EXPIRE", "PEXPIRE", "TTL", "PTTL", "INCR", "INCRBY", "DECR",
    "HGET", "HSET", "HGETALL", "HDEL", "HINCRBY", "HMGET",
    "ZADD", "ZREM", "ZSCORE", "ZMSCORE", "ZCARD", "ZINCRBY", "ZRANGE", "ZREVRANGE",
    "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE",
    "SADD", "SREM", "SISMEMBER", "SMISMEMBER", "SMEMBERS", "SCARD",
    "LPUSH", "RPUSH", "LRANGE", "LTRIM", "LLEN",
    "XADD", "XRANGE", "XREVRANGE", "XLEN",
})
# Commands with a key list: routed here only with a single key.
_ONE_OF_MANY = frozenset({"DEL", "UNLINK", "EXISTS"})
_REDIRECTS = (MovedError, AskError, TryAgainError)
# What makes redis-py send a pipeline again, whole (after reconnecting).
_RETRIED = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError,
            ClusterDownError, SlotNotCoveredError)


def _stream_keys(args: Sequence[Any]) -> list[Any]:
    """XREAD's keys: the first half of what follows STREAMS (ValueError without)."""
    names = [a.upper() if isinstance(a, str | bytes) else a for a in args]
    at = names.index(b"STREAMS" if b"STREAMS" in names else "STREAMS")
    rest = list(args[at + 1:])
    return rest[:len(rest) // 2]


def _store_keys(args: Sequence[Any]) -> list[Any]:
    """ZUNIONSTORE/ZINTERSTORE's keys: the destination and numkeys sources."""
    return [args[0], *args[2:2 + int(args[1])]]


# Commands whose keys move (redis-py asks the server, COMMAND GETKEYS, a round
# trip of its own before every such command) that the services use: their keys
# are found here instead, by their arguments after the command's name.
MOVABLE_KEYS = {"XREAD": _stream_keys, "ZUNIONSTORE": _store_keys, "ZINTERSTORE": _store_keys}


def _keys(args: Sequence[Any]) -> Sequence[Any] | None:
    """The command's keys, or None when this module does not route it."""
    name = args[0]
    if name in _FIRST_KEY or (name in _ONE_OF_MANY and len(args) == len(("DEL", "key"))):
        return args[1:2]
    if name in ("EVAL", "EVALSHA"):
        return args[3:3 + int(args[2])]
    find = MOVABLE_KEYS.get(name)
    if find is None:
        return None
    try:
        return find(args[1:])
    except (ValueError, IndexError):  # malformed: redis-py's to report
        return None


def single_slot(client: RedisCluster, keys: Sequence[Any]) -> int | None:
    """The one slot of all the keys; None when they are in more than one."""
    encode = client.encoder.encode
    slots = {key_slot(encode(k)) for k in keys}  # type: ignore[no-untyped-call]
    return slots.pop() if len(slots) == 1 else None


Groups = list[tuple[ClusterNode, list[Any]]]


def _node(client: RedisCluster, args: Sequence[Any]) -> ClusterNode | None:
    """The primary that holds the command's slot in the client's slot map;
    None when the command is not for this module."""
    keys = _keys(args)
    slot = single_slot(client, keys) if keys else None
    if slot is None:
        return None
    try:
        return client.nodes_manager.get_node_from_slot(slot)
    except RedisClusterException:  # the slot is not covered: redis-py's to report
        return None


def _routable(client: RedisCluster) -> bool:
    return not client._initialize and not client.read_from_replicas


def _route(client: RedisCluster, commands: Sequence[Any]) -> Groups | None:
    """The commands grouped by the primary that holds their slot; None when
    one of them is not for this module."""
    nodes: dict[str, tuple[ClusterNode, list[Any]]] = {}
    for command in commands:
        node = None if command.kwargs.get("target_nodes") is not None else \
            _node(client, command.args)
        if node is None:
            return None
        nodes.setdefault(node.name, (node, []))[1].append(command)
    return list(nodes.values())


async def _send_and_read(groups: Groups) -> None:
    """Writes each node's commands on one of its connections, then reads the
    replies into the commands' `result`s (an error reply as its exception).
    A connection whose replies were not all read when anything is raised
    (a failure, a cancellation) is disconnected before it goes back to its
    node: the next caller would otherwise read this pipeline's replies."""
    taken: list[tuple[ClusterNode, Any, list[Any]]] = []
    unread: set[int] = set()
    try:
        for node, commands in groups:
            taken.append((node, node.acquire_connection(), commands))
            unread.add(id(taken[-1][1]))
        for node, connection, commands in taken:
            await node.disconnect_if_needed(connection)
            await connection.send_packed_command(
                connection.pack_commands(c.args for c in commands))
        for node, connection, commands in taken:
            for command in commands:
                try:
                    command.result = await node.parse_response(
                        connection, command.args[0], **command.kwargs)
                except ResponseError as exc:  # an error reply: the connection is in step
                    command.result = exc
            unread.discard(id(connection))
    except BaseException:
        for _, connection, _ in taken:
            if id(connection) in unread:
                await connection.disconnect(nowait=True)
        raise
    finally:
        for node, connection, _ in taken:
            node.release(connection)


async def execute(client: RedisCluster, commands: Sequence[Any], *, raise_on_error: bool,
                  allow_redirections: bool) -> list[Any] | None:
    """The commands' results, or None when redis-py must run the pipeline
    (nothing of it was sent, or what was sent may be sent again: a failed
    connection, as redis-py's own retry would)."""
    if not _routable(client):
        return None
    groups = _route(client, commands)
    if groups is None:
        return None
    try:
        await _send_and_read(groups)
    except _RETRIED:
        _forget(commands)
        return None
    if any(isinstance(c.result, _RETRIED) for c in commands):  # CLUSTERDOWN replies
        _forget(commands)
        return None
    if allow_redirections:
        await _follow_redirections(client, commands)
    if raise_on_error:
        for command in commands:
            if isinstance(command.result, Exception):
                raise command.result
    return [c.result for c in commands]


NOT_SENT = object()


async def execute_command(client: RedisCluster, args: Sequence[Any],
                          kwargs: dict[str, Any]) -> Any:
    """One command's result, sent straight to its node (about a quarter less
    CPU than redis-py's routing); NOT_SENT when redis-py must send it: not routed
    here, redirected (not run, then), or a failed connection (redis-py then
    sends it again, as its own retry would)."""
    if not _routable(client) or kwargs.get("target_nodes") is not None:
        return NOT_SENT
    node = _node(client, args)
    if node is None:
        return NOT_SENT
    try:
        return await node.execute_command(*args, **kwargs)
    except (*_REDIRECTS, *_RETRIED):
        return NOT_SENT


async def _follow_redirections(client: RedisCluster, commands: Sequence[Any]) -> None:
    """Sends each redirected command again on its own, where redis-py follows
    MOVED and ASK (and waits out TRYAGAIN); its error becomes its result."""
    for command in commands:
        if isinstance(command.result, _REDIRECTS):
            try:
                command.result = await client.execute_command(*command.args, **command.kwargs)
            except Exception as exc:  # kept as the command's result, as redis-py does
                command.result = exc


def _forget(commands: Sequence[Any]) -> None:
    """Clears what a failed attempt read, so redis-py sends every command again."""
    for command in commands:
        command.result = None
