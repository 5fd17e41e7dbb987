"""The bootstrap every event worker shares: logging, tracing, metrics and
probes (services/shared/observability/probe_http.py: readiness is the consumers' health),
the JetStream connection, its consumers until SIGTERM, then an orderly stop
and the process's end (`serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from services.shared.concurrency import event_loop
from services.shared.concurrency.background import Job, start_jobs, stop_jobs
from services.shared.concurrency.long_lived import freeze_startup_objects
from services.shared.messaging import consumer
from services.shared.messaging import events as jetstream
from services.shared.messaging.consumer import ConsumerSpec
from services.shared.observability import probe_http
from services.shared.observability.gc_pauses import time_collections
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.observability.telemetry import configure_tracing, flush_spans

log = get_logger(__name__)
FLUSH_SECONDS = 1
HOOK_SECONDS = 1.5
EXIT_FLUSH_SECONDS = 1.0
Hook = Callable[[], Awaitable[None]]


class WorkerSettings(Protocol):
    service_name: str
    log_level: str
    log_json: bool
    metrics_port: int
    grpc_host: str
    nats_url: str
    # A consumer whose fetch loop has not come round for this long is stalled.
    consumer_stall_seconds: float
    jetstream_replicas: int
    jetstream_max_age_seconds: float
    jetstream_max_bytes: int


@dataclass
class Worker:
    """What a worker process plugs into the shared runner."""

    consumers: Sequence[ConsumerSpec]
    background: Mapping[str, Job] = field(default_factory=dict)
    on_stop: Sequence[Hook] = ()


async def run(settings: WorkerSettings, build: Callable[[], Awaitable[Worker]]) -> None:
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    configure_tracing(settings.service_name)
    connection: list[Any] = []  # the NATS client, once connected
    health = consumer.Health(lambda: bool(connection) and connection[0].is_connected,
                             settings.consumer_stall_seconds)
    if settings.metrics_port:
        probe_http.start(settings.grpc_host, settings.metrics_port, health.ready)
    worker = await build()
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    connection.append(nc)
    await jetstream.ensure_stream(js, jetstream.StreamLimits.of(settings))
    freeze_startup_objects()
    time_collections()
    jobs = start_jobs(worker.background)
    log.info("worker started", consumers=[c.durable for c in worker.consumers])
    try:
        await consumer.serve_consumers(js, list(worker.consumers), health)
    finally:
        log.info("worker stopping")
        await stop_jobs(jobs)
        # No drain: nats-py's drain of a pull subscription waits out its 30 s
        # timeout (supervisord and Kubernetes kill before that), and the batch
        # in hand is finished or handed back already. Flush the acks, close.
        with contextlib.suppress(Exception):
            await nc.flush(timeout=FLUSH_SECONDS)
        with contextlib.suppress(Exception):
            await nc.close()
        # Closing clients (a CQL cluster's shutdown takes seconds on a busy
        # machine) must not hold the stop past its 5 s: the work is done.
        for hook in worker.on_stop:
            try:
                await asyncio.wait_for(hook(), HOOK_SECONDS)
            except TimeoutError:
                log.warning("stop hook did not finish in time; exiting anyway")
        log.info("worker stopped")


def serve(main: Callable[[], Coroutine[Any, Any, None]]) -> NoReturn:
    """A worker process's entry point: runs `main` (which ends in `run`), then
    ends the process. `run`'s stop is bounded and finishes everything a worker
    owes; what libraries leave for the interpreter's exit is not (asyncio's
    default executor, joined with no timeout on Python 3.11; the Cassandra
    driver's threads), and once held a stopped worker's exit 5 s past its
    last log line (tests/integration/test_worker_stop.py). So once spans and
    output are flushed, within a bound, nothing else is waited for."""
    # Never closed: closing a Runner joins the default executor, unbounded.
    runner = asyncio.Runner(loop_factory=event_loop.loop_factory())
    code = 0
    try:
        runner.run(main())
    except BaseException:  # a failed start: reported as the interpreter would
        traceback.print_exc()
        code = 1
    flush_spans(EXIT_FLUSH_SECONDS)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
