"""A fanout worker cut off from NATS reports not ready, and the consumer's lag
grows in the metrics (issue 17): readiness comes from the consumer's health,
not from the metrics server answering.

The stack's worker is stopped for the test; a worker process of our own
consumes in its place, its NATS connection through a TCP proxy the test cuts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import REGISTRY

from services.shared.messaging import consumer_lag
from services.shared.messaging import events as jetstream
from stack import topology
from tests.support.scratch_postgres import free_port
from tests.support.stack_control import control
from tests.support.users import MakeAccount

WORKER = "timeline-worker"
DURABLE = "timeline-tweets"


class Proxy:
    """Forwards TCP to NATS until cut: then drops every connection and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._pipes):
            writer.close()
        self._pipes.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._pipes |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def _ready(client: httpx.AsyncClient, url: str) -> bool | None:
    try:
        return (await client.get(url, timeout=2)).status_code == 200
    except httpx.HTTPError:
        return None  # not serving yet


def _pending(metrics: str) -> float:
    match = re.search(rf'^jetstream_consumer_pending{{consumer="{DURABLE}"}} (\S+)$', metrics,
                      re.MULTILINE)
    return float(match.group(1)) if match else -1.0


async def _until(what: str, check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not within {within}s: {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def own_worker(stack_env: dict[str, str]) -> AsyncIterator[tuple[Proxy, str]]:
    """Our worker in place of the stack's, through a proxy; its /readyz URL."""
    settings = topology.load()
    proxy = Proxy(settings.ports["NATS_PORT"])
    await proxy.start()
    metrics_port = free_port()
    env = os.environ | stack_env | {
        "SERVICE_NAME": WORKER, "METRICS_PORT": str(metrics_port), "PYTHONUNBUFFERED": "1",
        "NATS_URL": f"nats://127.0.0.1:{proxy.port}"}
    await control("stop", WORKER)
    log = (settings.logs_dir / "test-worker-health.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.timeline.worker", env=env, stdout=log, stderr=log)
    try:
        yield proxy, f"http://127.0.0.1:{metrics_port}"
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:  # draining a cut-off connection may hang
            process.kill()
        log.close()
        await proxy.cut()
        await control("start", WORKER)


async def test_a_worker_cut_off_from_nats_is_not_ready_and_its_lag_grows(
        own_worker: tuple[Proxy, str], edge: httpx.AsyncClient, make_account: MakeAccount,
        stack_env: dict[str, str]) -> None:
    proxy, worker_url = own_worker
    timeline_metrics = \
        f"http://127.0.0.1:{int(stack_env['TIMELINE_ADDR'].rsplit(':', 1)[1]) + 100}/metrics"
    author = await make_account("lag")
    async with httpx.AsyncClient() as client:
        async def ready() -> bool:
            return await _ready(client, f"{worker_url}/readyz") is True

        async def not_ready() -> bool:
            return await _ready(client, f"{worker_url}/readyz") is False

        async def pending() -> float:
            return _pending((await client.get(timeline_metrics)).text)

        await _until("the worker is ready", ready)
        async def caught_up() -> bool:
            return await pending() == 0.0

        async def lagging() -> bool:
            return await pending() >= 3.0

        await _until("the consumer has caught up", caught_up)

        await proxy.cut()
        await _until("the cut-off worker reports not ready", not_ready, within=5)
        reason = (await client.get(f"{worker_url}/readyz")).text
        assert "not connected" in reason

        for n in range(3):
            posted = await edge.post("/v1/tweets", json={"content": f"while cut off {n}"},
                                     headers=author.bearer)
            assert posted.status_code == 200, posted.text
        await _until("the lag grows to the three tweets", lagging, within=10)
        # Still alive: liveness and metrics answer while readiness says no.
        assert (await client.get(f"{worker_url}/livez")).status_code == 200
        assert "consumer_ready 0.0" in (await client.get(f"{worker_url}/metrics")).text



async def test_lag_and_dead_letters_are_read_from_nats(stack_env: dict[str, str]) -> None:
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    tag = uuid.uuid4().hex[:8]
    durable = f"test-{tag}"
    try:
        await js.add_consumer(jetstream.STREAM, ConsumerConfig(
            durable_name=durable, filter_subject=f"twitter.test{tag}.>",
            ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL))
        for _ in range(3):
            await js.publish(f"twitter.test{tag}.event", b"x")
        await js.publish(f"{consumer_lag.DLQ_PREFIX}{durable}", b"poison")
        await consumer_lag.sample(js)

        def value(name: str) -> float | None:
            return REGISTRY.get_sample_value(name, {"consumer": durable})

        assert value("jetstream_consumer_pending") == 3
        assert value("jetstream_consumer_ack_pending") == 0
        assert value("jetstream_dlq_messages") == 1
    finally:
        await js.delete_consumer(jetstream.STREAM, durable)
        await js.purge_stream(jetstream.STREAM, subject=f"{consumer_lag.DLQ_PREFIX}{durable}")
        await nc.close()
