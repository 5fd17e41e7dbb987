"""A grpc.aio server with health, reflection and the shared interceptor, and a
`serve` loop that drains in-flight calls on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from services.shared.concurrency.background import Job, start_jobs, stop_jobs
from services.shared.concurrency.long_lived import freeze_startup_objects
from services.shared.config import ServerSettings
from services.shared.observability import telemetry
from services.shared.observability.gc_pauses import time_collections
from services.shared.observability.logging import get_logger
from services.shared.resilience import health as store_health
from services.shared.rpc import reflection as shared_reflection

log = get_logger(__name__)


@dataclass
class App:
    """What a service plugs into the shared server."""

    # Full proto names of the services, e.g. "twitter.users.v1.UserService".
    service_names: Sequence[str]
    register: Callable[[grpc.aio.Server], None]
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()
    # Long-running jobs by name: started once the server serves, cancelled
    # before the stop hooks close what they use.
    background: Mapping[str, Job] = field(default_factory=dict)
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Stores it cannot serve without: health is NOT_SERVING while one is
    # unreachable (services/shared/resilience/health.py).
    required: Sequence[store_health.Required] = ()


def create_server(app: App, settings: ServerSettings) -> tuple[grpc.aio.Server, int,
                                                               health.aio.HealthServicer]:
    server = grpc.aio.server(
        interceptors=list(app.interceptors),
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.http2.max_pings_without_data", 0),
        ],
    )
    app.register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    shared_reflection.enable(
        [*app.service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    port = server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_port}")
    if settings.grpc_process_port:
        server.add_insecure_port(f"{settings.grpc_host}:{settings.grpc_process_port}")
    return server, port, health_servicer


async def _set_serving(servicer: health.aio.HealthServicer, names: Sequence[str]) -> None:
    for name in ("", *names):
        await servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


async def serve(app: App, settings: ServerSettings) -> None:
    """Runs until SIGTERM/SIGINT, then reports NOT_SERVING, lets in-flight calls
    finish for up to `drain_seconds`, and runs the app's cleanup hooks."""
    telemetry.configure_tracing(settings.service_name)
    server, port, health_servicer = create_server(app, settings)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.grpc_host)
    freeze_startup_objects()
    time_collections()
    await server.start()
    await _set_serving(health_servicer, app.service_names)
    watched: dict[str, Job] = {}
    if app.required:
        watched["health"] = lambda: store_health.watch(health_servicer, app.service_names,
                                                       app.required)
    jobs = start_jobs({**app.background, **watched})
    log.info("serving", port=port, services=list(app.service_names))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    log.info("draining", grace_seconds=settings.drain_seconds)
    await stop_jobs(jobs[len(app.background):])  # the health watcher must not undo the drain
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace=settings.drain_seconds)
    await stop_jobs(jobs[:len(app.background)])
    for hook in app.on_stop:
        await hook()
    log.info("stopped")
