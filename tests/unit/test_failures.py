"""The failure policy (services/shared/resilience/failures.py): each driver's own
connection error, raised for real against a closed port, is UNAVAILABLE; a
peer's status is kept where it means the same; deadlines and breakers bound
peer calls; a handler's dependency failure reaches the client as 503-class,
never INTERNAL."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import boto3
import botocore.config
import cassandra
import grpc
import nats
import psycopg
import pytest
import redis.asyncio
import redis.exceptions
from cassandra.cluster import Cluster
from psycopg_pool import AsyncConnectionPool

from services.shared import errors
from services.shared.contracts import Access
from services.shared.resilience import deadline, failures
from services.shared.resilience.breaker import CircuitBreaker, State, guarded
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.interceptors import ServiceInterceptor

TOKEN = "unit-test-internal-token"
METHOD = "/test.Peer/Call"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def raised(call: Callable[[], Awaitable[object]]) -> BaseException:
    try:
        await call()
    except Exception as exc:
        return exc
    raise AssertionError("the call succeeded against a closed port")


async def test_postgres_connection_error_is_unavailable() -> None:
    exc = await raised(lambda: psycopg.AsyncConnection.connect(
        f"postgresql://x@127.0.0.1:{closed_port()}/x", connect_timeout=2))
    assert isinstance(failures.outage(exc), errors.Unavailable)


async def test_postgres_pool_timeout_is_unavailable() -> None:
    pool: AsyncConnectionPool = AsyncConnectionPool(
        f"postgresql://x@127.0.0.1:{closed_port()}/x", min_size=0, max_size=1, open=False)
    await pool.open()
    try:
        exc = await raised(lambda: pool.getconn(timeout=0.5))
    finally:
        await pool.close()
    assert type(exc).__name__ == "PoolTimeout"
    assert isinstance(failures.outage(exc), errors.Unavailable)


async def test_redis_connection_error_is_unavailable() -> None:
    client = redis.asyncio.Redis(port=closed_port(), socket_connect_timeout=1)
    try:
        exc = await raised(client.ping)
    finally:
        await client.aclose()
    assert isinstance(failures.outage(exc), errors.Unavailable)


async def test_nats_connection_error_is_unavailable() -> None:
    async def quiet(_: Exception) -> None:
        pass

    # (With no reconnect attempt at all, nats-py retries its first connect forever.)
    exc = await raised(lambda: nats.connect(
        f"nats://127.0.0.1:{closed_port()}", allow_reconnect=False, connect_timeout=1,
        max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=quiet))
    assert isinstance(failures.outage(exc), errors.Unavailable)


async def test_cassandra_connection_error_is_unavailable() -> None:
    cluster = Cluster(["127.0.0.1"], port=closed_port(), connect_timeout=1)
    try:
        exc = await raised(lambda: asyncio.to_thread(cluster.connect))
    finally:
        await asyncio.to_thread(cluster.shutdown)
    assert type(exc).__name__ == "NoHostAvailable"
    assert isinstance(failures.outage(exc), errors.Unavailable)


async def test_s3_connection_error_is_unavailable() -> None:
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{closed_port()}",
                      aws_access_key_id="x", aws_secret_access_key="x",
                      region_name="us-east-1",
                      config=botocore.config.Config(retries={"max_attempts": 1},
                                                    connect_timeout=1))
    exc = await raised(lambda: asyncio.to_thread(s3.list_buckets))
    assert isinstance(failures.outage(exc), errors.Unavailable)


def test_timeouts_are_deadline_exceeded_and_bugs_stay_unmapped() -> None:
    assert isinstance(failures.outage(cassandra.OperationTimedOut()), errors.DeadlineExceeded)
    assert isinstance(failures.outage(redis.exceptions.TimeoutError()), errors.DeadlineExceeded)
    assert isinstance(failures.outage(TimeoutError()), errors.DeadlineExceeded)
    assert failures.outage(KeyError("bug")) is None
    assert failures.outage(ValueError("bug")) is None


# --- peers ------------------------------------------------------------------

_RELEASE = asyncio.Event()


async def _behave(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    """The peer: the request names what to do."""
    kind = request.decode()
    if kind == "not_found":
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such tweet")
    if kind == "internal":
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
    if kind == "unavailable":
        await context.abort(grpc.StatusCode.UNAVAILABLE, "the database is unavailable")
    if kind == "slow":  # answers only once the test is over: past any caller's deadline
        await _RELEASE.wait()
    if kind == "store_down":  # a handler whose store is down
        await psycopg.AsyncConnection.connect(f"postgresql://x@127.0.0.1:{closed_port()}/x")
    return b"ok"


@pytest.fixture
async def peer() -> AsyncIterator[tuple[str, list[str]]]:
    """A real gRPC server with the shared server interceptor; yields its address
    and the list of requests it received."""
    seen: list[str] = []

    async def handler(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        seen.append(request.decode())
        return await _behave(request, context)

    server = grpc.aio.server(interceptors=[ServiceInterceptor(
        access=lambda _: Access.INTERNAL, verifier=None, internal_token=TOKEN)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Peer", {
        "Call": grpc.unary_unary_rpc_method_handler(handler)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    _RELEASE.clear()
    yield f"127.0.0.1:{port}", seen
    _RELEASE.set()
    await server.stop(None)


async def call(channel: grpc.aio.Channel, kind: str) -> bytes:
    stub: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(METHOD)
    # Waits for the connection: a CI run's first call to a just-started server
    # failed fast with "Connection refused" (gRPC shares subchannels between
    # channels, and a failed one backs off); the tests are about the answers.
    response: bytes = await stub(kind.encode(), timeout=5, wait_for_ready=True)
    return response


async def test_peer_codes_are_kept_and_bugs_stay_bugs(peer: tuple[str, list[str]]) -> None:
    async with internal_channel(peer[0], TOKEN, peer="test") as channel:
        assert await call(channel, "ok") == b"ok"
        with pytest.raises(errors.NotFound, match="no such tweet"):
            await call(channel, "not_found")
        with pytest.raises(errors.Unavailable):
            await call(channel, "unavailable")
        with pytest.raises(failures.UnexpectedPeerError):
            await call(channel, "internal")


async def test_a_dependency_failure_in_a_handler_is_unavailable_not_internal(
        peer: tuple[str, list[str]]) -> None:
    async with internal_channel(peer[0], TOKEN) as raw:  # no policy: grpc's own error
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(raw, "store_down")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_peer_call_takes_no_longer_than_its_callers_deadline(
        peer: tuple[str, list[str]]) -> None:
    async with internal_channel(peer[0], TOKEN, peer="test") as channel:
        deadline.begin(0.3, {})
        started = time.monotonic()
        with pytest.raises(errors.DeadlineExceeded):
            await call(channel, "slow")
        assert time.monotonic() - started < 1.5  # not the stub's own 5 s timeout
        deadline.begin(0.0, {})
        with pytest.raises(errors.DeadlineExceeded):  # nothing left: not even sent
            await call(channel, "ok")
        deadline.begin(None, {})


async def test_the_breaker_opens_on_a_failing_peer_and_an_answer_is_no_outage(
        peer: tuple[str, list[str]]) -> None:
    address, seen = peer
    async with internal_channel(address, TOKEN, peer="test") as channel:
        assert await call(channel, "ok") == b"ok"
        for _ in range(6):  # more than its threshold; answers, not outages: it stays closed
            with pytest.raises(errors.NotFound):
                await call(channel, "not_found")
        assert await call(channel, "ok") == b"ok"
        for _ in range(5):
            with pytest.raises(errors.Unavailable):
                await call(channel, "unavailable")
        sent = len(seen)
        with pytest.raises(errors.Unavailable, match="test service is unavailable"):
            await call(channel, "ok")
        assert len(seen) == sent  # refused without a request


class FakeClock:
    """Monotonic seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(breaker: CircuitBreaker) -> State:
    """Read afresh each time (mypy would narrow the property across asserts)."""
    return breaker.state


def opened(clock: FakeClock, *, failures: int = 2) -> CircuitBreaker:
    breaker = CircuitBreaker("unit", failures=failures, reset_seconds=1.0, clock=clock)
    for _ in range(failures):
        assert breaker.allow()
        breaker.failed()
    return breaker


def test_the_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker("unit", failures=3, reset_seconds=1.0, clock=FakeClock())
    breaker.failed()
    breaker.failed()
    breaker.succeeded()  # a success in between starts the count again
    breaker.failed()
    breaker.failed()
    assert state(breaker) is State.CLOSED
    assert breaker.allow()
    breaker.failed()
    assert state(breaker) is State.OPEN
    assert not breaker.allow()


def test_an_open_breaker_lets_one_probe_through_after_its_period() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.now += 0.75
    assert state(breaker) is State.OPEN
    assert not breaker.allow()
    clock.now += 0.25
    assert state(breaker) is State.HALF_OPEN
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # and no one else while it runs
    breaker.succeeded()
    assert state(breaker) is State.CLOSED
    assert breaker.allow()
    assert breaker.last_success == clock.now


def test_a_failed_probe_opens_the_breaker_for_another_period() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    clock.now += 1.0
    assert breaker.allow()
    breaker.failed()
    assert state(breaker) is State.OPEN
    clock.now += 0.5
    assert not breaker.allow()
    clock.now += 0.5
    assert breaker.allow()


async def test_guarded_counts_outages_only_and_refuses_while_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("unit", failures=1, reset_seconds=1.0, clock=clock)
    with pytest.raises(errors.NotFound):  # our own answer: the store is up
        async with guarded(breaker, "the store"):
            raise errors.NotFound("no such row")
    assert state(breaker) is State.CLOSED
    with pytest.raises(ConnectionRefusedError):
        async with guarded(breaker, "the store"):
            raise ConnectionRefusedError
    with pytest.raises(errors.Unavailable, match="the store is unavailable"):
        async with guarded(breaker, "the store"):
            raise AssertionError("an open breaker must not run the block")
    clock.now += 1.0
    async with guarded(breaker, "the store"):  # the probe goes through and closes it
        pass
    assert state(breaker) is State.CLOSED


async def test_a_cancelled_probe_does_not_hold_the_breaker_shut() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("unit", failures=1, reset_seconds=0.5, clock=clock)
    with pytest.raises(ConnectionRefusedError):
        async with guarded(breaker, "the store"):
            raise ConnectionRefusedError
    with pytest.raises(errors.Unavailable):  # open: refused at once
        async with guarded(breaker, "the store"):
            pass
    clock.now += 0.5
    entered = asyncio.Event()

    async def probe_that_hangs() -> None:
        async with guarded(breaker, "the store"):
            entered.set()
            await asyncio.Event().wait()

    probe = asyncio.create_task(probe_that_hangs())
    await entered.wait()
    assert not breaker.allow()  # the probe holds the half-open breaker meanwhile
    probe.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await probe
    async with guarded(breaker, "the store"):  # the next call probes again
        pass
    assert state(breaker) is State.CLOSED


@pytest.mark.parametrize("exc", [
    redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"),
    redis.exceptions.MasterDownError("MASTERDOWN"),
    redis.exceptions.SlotNotCoveredError("slot 42 is not covered"),
    redis.exceptions.TryAgainError("TRYAGAIN"),
], ids=["clusterdown", "masterdown", "slot not covered", "tryagain"])
def test_a_redis_cluster_missing_a_node_is_unavailable(exc: Exception) -> None:
    assert isinstance(failures.outage(exc), errors.Unavailable)


def test_a_cross_slot_command_is_a_bug_not_an_outage() -> None:
    assert failures.outage(redis.exceptions.ResponseError("CROSSSLOT Keys ...")) is None
