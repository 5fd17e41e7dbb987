"""Redis clients that survive a Redis restart: a failed command on a dropped
connection is retried on a fresh one, so a restarted Redis is reconnected
without a failed request, and short socket timeouts let a dead one fail fast
(the caller's circuit breaker takes it from there).

Two deployments, one interface: a URL `redis+cluster://host:port` (any node of
the cluster) gives redis-py's RedisCluster, which routes every command by its
key's slot, follows MOVED and ASK while slots move, and sends a pipeline as
one pipeline per node, in parallel (cluster_pipeline.py, at half redis-py's
CPU); `redis://host:port/db` gives a single
Redis. Keys are hash-tagged by owner (docs/REDIS_KEYS.md), so everything a
script or a transaction touches lives in one slot on either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import hiredis
from prometheus_client import Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Connection, Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, PipelineStrategy
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.crc import key_slot
from redis.exceptions import (
    ClusterDownError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.shared.observability import telemetry
from services.shared.resilience import deadline
from services.shared.stores import cluster_pipeline

# What a cache read may take before the caller treats Redis as down.
SOCKET_TIMEOUT_SECONDS = 0.5
# Between attempts while a cluster fails a dead primary over to its replica.
FAILOVER_POLL_SECONDS = 0.2


class HiredisPackedConnection(Connection):
    """Packs commands with hiredis (C), as redis-py's synchronous client does;
    its asyncio client packs in Python, a large share of a cache read's CPU."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if (b" " if isinstance(name, bytes) else " ") in name:  # "CONFIG GET" and the like
            return super().pack_command(*args)
        return [hiredis.pack_command(args)]

    async def send_packed_command(self, command: bytes | str | Iterable[bytes],
                                  check_health: bool = True) -> None:
        """uvloop refuses a write on a transport the server closed (a killed
        node) with RuntimeError, where asyncio's raises OSError, which redis-py
        turns into the ConnectionError every caller handles (retry, breaker,
        UNAVAILABLE); the RuntimeError was an internal error instead."""
        try:
            await super().send_packed_command(command, check_health)
        except RuntimeError as exc:  # redis-py has already dropped the connection
            raise RedisConnectionError(f"Error while writing to socket: {exc}") from exc


UNREPLICATED = Counter(
    "redis_unreplicated_writes_total",
    "Replicated pipelines a node acknowledged before enough replicas had them "
    "(the node had no replica in reach within the wait).")


@dataclass(frozen=True)
class Replication:
    """What a replicated pipeline (`replicated_pipeline`) waits for: so many
    replicas (REDIS_WRITE_REPLICAS), up to so long."""

    replicas: int
    timeout_ms: int


def _confirmed(results: list[Any], waits: int, replicas: int) -> list[Any]:
    """The pipeline's own results, without the WAIT replies after them. A WAIT
    that failed (its node died before it answered) fails the whole call: the
    writes before it may be lost with the node, so the caller must write again.
    Fewer replicas than asked means the node has none in reach: the writes are
    kept where they can be, as Redis itself would (min-replicas is not set)."""
    own, confirmations = results[:len(results) - waits], results[len(results) - waits:]
    for confirmation in confirmations:
        if isinstance(confirmation, Exception):
            raise confirmation
        if int(confirmation) < replicas:
            UNREPLICATED.inc()
    return own


class _TracedPipeline(Pipeline):
    replication: Replication | None = None

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        with telemetry.store_call("redis", "pipeline",
                                  {"db.operation": _names(self.command_stack)}):
            wait = self.replication if self.command_stack else None
            if wait is None:
                return await super().execute(raise_on_error)
            # WAIT counts the writes of its own connection: a pipeline (not a
            # transaction) sends everything on one.
            self.execute_command("WAIT", wait.replicas, wait.timeout_ms)
            results = await super().execute(raise_on_error=False)
            return _raise_first(_confirmed(results, 1, wait.replicas), raise_on_error)


def _names(stack: list[Any]) -> str:
    """The pipeline's commands, e.g. 'ZREVRANGE EXPIRE SINTER' (at most ten)."""
    names = [str(c.args[0] if hasattr(c, "args") else c[0][0]) for c in stack[:10]]
    return " ".join(names)


class TracedRedis(Redis):
    """Every command and pipeline gets a span (inside a traced call) and a
    latency sample (store_client_seconds{store="redis"})."""

    replication: Replication | None = None  # for replicated_pipeline

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        with telemetry.store_call("redis", str(args[0]).upper()):
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _TracedPipeline(self.connection_pool, self.response_callbacks, transaction,
                               shard_hint)


class _TracedClusterPipeline(ClusterPipeline):
    replication: Replication | None = None

    async def initialize(self) -> ClusterPipeline:
        # `async with` a pipeline initializes the client first: with every node
        # down that is where "cannot be connected" is raised.
        with _unreachable_as_connection_error():
            return await super().initialize()

    async def execute(self, raise_on_error: bool = True,
                      allow_redirections: bool = True) -> list[Any]:
        stack = self._execution_strategy._command_queue  # type: ignore[attr-defined]
        client = self.cluster_client
        with telemetry.store_call("redis", "pipeline", {"db.operation": _names(stack)}):
            if isinstance(client, TracedRedisCluster) and client.failover_wait > 0:
                # redis-py empties the pipeline after a failed attempt: queue
                # its commands again (through execute_command, so a transaction
                # learns its slot again) for the next one.
                queued = [(c.args, dict(c.kwargs)) for c in stack]

                async def once() -> list[Any]:
                    if not self._execution_strategy._command_queue:  # type: ignore[attr-defined]
                        with _unreachable_as_connection_error():
                            if client._initialize:
                                # Here, on this loop: queueing would otherwise
                                # load the slot map on a loop of its own.
                                await client.initialize()
                        for args, kwargs in queued:
                            self.execute_command(*args, **kwargs)
                    return await self._execute_once(raise_on_error, allow_redirections)
                return list(await client.through_failover(once))
            return await self._execute_once(raise_on_error, allow_redirections)

    async def _execute_once(self, raise_on_error: bool, allow_redirections: bool) -> list[Any]:
        with _unreachable_as_connection_error():
            wait = self.replication
            if wait is None:
                strategy, client = self._execution_strategy, self.cluster_client
                if type(strategy) is PipelineStrategy and isinstance(  # not a transaction
                        client, TracedRedisCluster) and client.direct_routing:
                    direct = await cluster_pipeline.execute(
                        client, strategy._command_queue,
                        raise_on_error=raise_on_error, allow_redirections=allow_redirections)
                    if direct is not None:
                        await strategy.reset()  # type: ignore[no-untyped-call]
                        return direct
                return await ClusterPipeline.execute(self, raise_on_error, allow_redirections)
            waits = await self._queue_waits(wait)
            results = await ClusterPipeline.execute(self, False, allow_redirections)
            return _raise_first(_confirmed(results, waits, wait.replicas), raise_on_error)

    async def _queue_waits(self, wait: Replication) -> int:
        """One WAIT per node the queued commands go to, routed to that node: a
        cluster pipeline sends each node's commands on one connection, and WAIT
        counts the writes of its own connection. (A write redirected by MOVED
        or ASK is sent again on another connection, which no WAIT covers: only
        while slots move.)"""
        client = self.cluster_client
        if client._initialize:
            await client.initialize()
        nodes: dict[str, ClusterNode] = {}
        for command in list(self._execution_strategy._command_queue):  # type: ignore[attr-defined]
            slot = await client._determine_slot(*command.args)
            node = client.nodes_manager.get_node_from_slot(slot)
            nodes[node.name] = node
        queue = self._execution_strategy._command_queue  # type: ignore[attr-defined]
        for node in nodes.values():
            self.execute_command("WAIT", wait.replicas, wait.timeout_ms)
            # redis-py pops the target when it routes a command; an attempt
            # it makes again after a connection error must find it still.
            queue[-1].kwargs = _Kept(target_nodes=node)
        return len(nodes)


class _Kept(dict[str, Any]):
    """Keyword arguments whose `pop` leaves them in place."""

    def pop(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)


@contextmanager
def _unreachable_as_connection_error() -> Iterator[None]:
    """Connection failures redis-py's cluster client reports otherwise, made
    the ConnectionError they are (for breakers, fallbacks and status codes):
    "Redis Cluster cannot be connected", a bare RedisClusterException (also
    its type for client-side misuse); and, while a node goes down, a
    connection that another task closed mid-handshake (an AttributeError on
    its writer, raised inside redis/asyncio/connection.py)."""
    try:
        yield
    except RedisClusterException as exc:
        if "cannot be connected" in str(exc):
            raise RedisConnectionError(str(exc)) from exc
        raise
    except AttributeError as exc:
        if _raised_in_connection(exc):
            raise RedisConnectionError(f"connection closed while in use: {exc}") from exc
        raise


def _raised_in_connection(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.endswith(
        "redis/asyncio/connection.py")


class TracedRedisCluster(RedisCluster):
    """TracedRedis for a Redis Cluster.

    With `failover_wait` seconds (REDIS_FAILOVER_WAIT_SECONDS; the clusters
    with replicas set it), a command whose node is unreachable or whose slot is
    uncovered is tried again, the slot map reloaded each time, until that long
    has passed (within the caller's deadline): a primary's death then costs its
    callers the failover's latency, not an error. redis-py's own retries come
    back within milliseconds, long before a replica is promoted. Without it
    (the default) the caller's fallback takes over at once."""

    failover_wait = 0.0
    direct_routing = True  # REDIS_DIRECT_ROUTING: cluster_pipeline.py sends what it can
    replication: Replication | None = None  # for replicated_pipeline

    # Attempts per command (redirections and retries). Redis answers TRYAGAIN
    # to a multi-key command while a migrating slot's keys are split between
    # two nodes; redis-py waits 50 ms between attempts in the second half, so
    # 48 give a slot about 1.2 s to finish moving (the default 16, 0.4 s, ran
    # out while `redis-cli --cluster reshard` ran on a loaded machine).
    RedisClusterRequestTTL = 48

    async def _determine_slot(self, command: str, *args: Any) -> int:
        find = cluster_pipeline.MOVABLE_KEYS.get(str(command).upper())
        if find is None:
            return await super()._determine_slot(command, *args)
        slot = cluster_pipeline.single_slot(self, find(args))
        if slot is None:
            raise RedisClusterException(f"{command}: keys in more than one slot")
        return slot

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        """Learns the slot map (CLUSTER SLOTS, then COMMAND of one node). A node
        too slow to answer that (just restarted, or promoted, on a loaded
        machine) is as unreachable as one refusing it: a ConnectionError, which
        a failover wait rides out. Unlike a command's own timeout, nothing of
        the caller's was sent yet, so trying again repeats no write."""
        try:
            return await super().initialize(*args, **kwargs)
        except RedisTimeoutError as exc:
            raise RedisConnectionError(f"slot map not learnt in time: {exc}") from exc

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        with telemetry.store_call("redis", str(args[0]).upper()):
            return await self.through_failover(self._execute_once, *args, **kwargs)

    async def _execute_once(self, *args: Any, **kwargs: Any) -> Any:
        with _unreachable_as_connection_error():
            if self._initialize:
                # Learn the slots first: redis-py 8.1 picks a command's route
                # before its first initialize, sends it to a default node, and
                # gets MOVED; a burst of first commands collects enough MOVED
                # replies to make it close every connection, in use or not.
                await self.initialize()
            if self.direct_routing:
                result = await cluster_pipeline.execute_command(self, args, kwargs)
                if result is not cluster_pipeline.NOT_SENT:
                    return result
            return await super().execute_command(*args, **kwargs)

    async def through_failover(self, attempt: Any, *args: Any, **kwargs: Any) -> Any:
        """`attempt(*args, **kwargs)`, again while a failover may be under way."""
        until = time.monotonic() + (deadline.bounded(self.failover_wait) or 0.0) \
            if self.failover_wait > 0 else 0.0
        while True:
            try:
                return await attempt(*args, **kwargs)
            except FAILOVER_ERRORS:
                left = until - time.monotonic()
                if left <= 0:
                    raise
                self._initialize = True  # the next attempt reloads the slot map
                await asyncio.sleep(min(FAILOVER_POLL_SECONDS, left))

    def pipeline(self, transaction: Any | None = None,
                 shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)
        return _TracedClusterPipeline(self, transaction)  # type: ignore[abstract]


# Either deployment; the commands, pipelines and scripts the services use behave
# alike on both (multi-key ones only within one slot).
RedisClient = Redis | RedisCluster
AnyPipeline = Pipeline | ClusterPipeline
CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


class RedisFailoverSettings(BaseSettings):
    """How long a cluster client waits out a failover (0: not at all), and how
    many replicas a replicated pipeline waits for (0: none), up to how long.
    Set where every primary has a replica: TOPOLOGY=ha locally, Kubernetes.
    REDIS_DIRECT_ROUTING=false routes every cluster command through redis-py
    (cluster_pipeline.py otherwise): to compare, or should redis-py change
    what that module relies on."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    redis_direct_routing: bool = True
    redis_failover_wait_seconds: float = Field(default=0.0, ge=0.0, le=30.0)
    redis_write_replicas: int = Field(default=0, ge=0, le=5)
    redis_write_replicas_timeout_ms: int = Field(default=500, ge=1, le=10_000)


def replicated_pipeline(client: RedisClient) -> AnyPipeline:
    """A pipeline (not a transaction) whose writes are confirmed by the
    client's REDIS_WRITE_REPLICAS before it returns: WAIT after them, on each
    node they went to. Replication is asynchronous, so a primary that dies
    right after acknowledging a write can take it along when its replica
    takes over; for writes that are not written again if lost (fanout into
    timelines, idempotency records). Without replicas configured, a plain
    pipeline."""
    pipe = client.pipeline(transaction=False)
    if isinstance(pipe, _TracedPipeline | _TracedClusterPipeline):
        pipe.replication = getattr(client, "replication", None)
    return pipe


def _raise_first(results: list[Any], raise_on_error: bool) -> list[Any]:
    if raise_on_error:
        for result in results:
            if isinstance(result, Exception):
                raise result
    return results


def connect(url: str, *, socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
            connection_class: type[Connection] = HiredisPackedConnection) -> RedisClient:
    """A client for `url`: RedisCluster for redis+cluster://, else Redis."""
    retry = Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=2)
    if is_cluster_url(url):
        # Several seeds (host:port,host:port), so that a client starting while
        # one node is down still finds the cluster.
        first, *more = url.removeprefix(CLUSTER_SCHEME).split(",")
        cluster = TracedRedisCluster.from_url(
            "redis://" + first, socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout, retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            startup_nodes=[ClusterNode(*_host_port(seed)) for seed in more],
            # Each MOVED patches its slot in the map. The default (5) rebuilds
            # the map every fifth MOVED by closing every connection, those in
            # use by other requests too, which then fail while slots move.
            reinitialize_steps=0)
        # RedisCluster takes no connection class: set it for the nodes it finds.
        cluster.connection_kwargs["connection_class"] = connection_class
        for node in cluster.startup_nodes:
            node.connection_class = connection_class
        settings = RedisFailoverSettings()
        if isinstance(cluster, TracedRedisCluster):
            cluster.failover_wait = settings.redis_failover_wait_seconds
            cluster.direct_routing = settings.redis_direct_routing
            cluster.replication = _replication(settings)
        return cluster
    single = TracedRedis.from_url(
        url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
        retry=retry, retry_on_error=[RedisConnectionError, RedisTimeoutError],
        connection_class=connection_class)
    assert isinstance(single, TracedRedis)
    single.replication = _replication(RedisFailoverSettings())
    return single


def _replication(settings: RedisFailoverSettings) -> Replication | None:
    if settings.redis_write_replicas == 0:
        return None
    return Replication(settings.redis_write_replicas, settings.redis_write_replicas_timeout_ms)


def _host_port(seed: str) -> tuple[str, int]:
    host, _, port = seed.split("/", maxsplit=1)[0].rpartition(":")
    return host, int(port)


def slot_groups(client: Any, keys: Sequence[str]) -> list[list[int]]:
    """Positions of `keys` grouped by hash slot on a cluster, where one script
    or transaction may touch only one slot; on a single Redis, one group.
    Queued on a cluster pipeline, the groups travel as one pipeline per node."""
    if not keys:
        return []
    if not isinstance(client, RedisCluster | ClusterPipeline):
        return [list(range(len(keys)))]
    groups: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key_slot(key.encode()), []).append(i)
    return list(groups.values())


async def node_groups(client: RedisClient, keys: Sequence[str]) -> list[list[int]]:
    """Positions of `keys` grouped by the primary that holds their slot on a
    cluster, as the client's slot map last saw it; on a single Redis, one group.
    A script flagged `allow-cross-slot-keys` may touch a whole group in one
    call, where slot_groups would need one call per slot."""
    if not keys:
        return []
    if not isinstance(client, RedisCluster):
        return [list(range(len(keys)))]
    if client._initialize:
        await client.initialize()
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        node = client.nodes_manager.get_node_from_slot(key_slot(key.encode()))
        groups.setdefault(node.name, []).append(i)
    return list(groups.values())


async def execute_where_sent(pipe: AnyPipeline) -> list[Any]:
    """Runs a pipeline with each command's error returned as its result, and on
    a cluster without following MOVED or ASK (they come back as results too):
    for calls that are right only on the node they were sent to."""
    if isinstance(pipe, ClusterPipeline):
        return await pipe.execute(raise_on_error=False, allow_redirections=False)
    return await pipe.execute(raise_on_error=False)

# A node or slot of a cluster gone, as while a replica takes over its primary.
FAILOVER_ERRORS = (RedisConnectionError, ClusterDownError, SlotNotCoveredError, TryAgainError)

# What "Redis is unreachable" looks like, for breakers and fallbacks: on a
# cluster also a node down (its slots uncovered) or a slot mid-migration.
REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, ClusterDownError,
                SlotNotCoveredError, TryAgainError)
