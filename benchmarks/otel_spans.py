"""Per-call CPU of the hand-written spans (services/shared/observability/telemetry.py) against
the opentelemetry-instrumentation packages for the same calls, on the local
stack's real servers (issue 37: adopt them only if they cost no more).

    PYTHONPATH=<a --target dir with opentelemetry-instrumentation-{redis,psycopg,
    botocore,grpc}> .venv/bin/python -m benchmarks.otel_spans [CALLS]

For each store, three variants, each in a fresh process (an instrumentor patches
its library for the whole process):
- bare: the library's call, no tracing;
- hand: the call inside telemetry.store_call (a CLIENT span when inside a
  sampled trace, plus the store_client_seconds sample), as the services do
  (services/shared/{redis_client,postgres}.py; S3 has no span today);
- instr: the instrumentor's span, plus the same latency sample (the metrics
  would stay hand-written: the instrumentors write none to Prometheus).
gRPC: a unary call to an in-process grpc.aio server; hand is telemetry's
server_span (the span part of services/shared/rpc/interceptors/), instr the
package's aio server interceptor. Client and server CPU both count.

Each variant runs CALLS calls in each of three contexts: inside a sampled
trace (spans recorded and batch-exported to an exporter that drops them),
inside a trace the edge did not sample (most requests in k8s, which samples
1%), and outside any trace (background work: a lease renewal, a relay). The
figure is this process's CPU time (time.process_time: the servers' own CPU is
not counted) per call, the median of 5 interleaved blocks; the sampled figure
has the enclosing request span's own cost taken off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import grpc
import opentelemetry
import psycopg
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from redis.asyncio import RedisCluster

from services.shared.observability import telemetry
from stack import contract, topology

STORES = ("redis", "postgres", "s3", "grpc")
VARIANTS = ("bare", "hand", "instr")
CALLS = {"redis": 4000, "postgres": 3000, "s3": 600, "grpc": 3000}


def _find_instrumentation() -> None:
    """xds-protos ships an `opentelemetry/__init__.py`, which makes the
    namespace a plain package: add the instrumentation's directories to it."""
    for entry in sys.path:
        extra = Path(entry) / "opentelemetry"
        if (extra / "instrumentation").is_dir() and str(extra) not in opentelemetry.__path__:
            opentelemetry.__path__.append(str(extra))


class _Dropped(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@contextlib.contextmanager
def _sample_only(store: str, family: str) -> Iterator[None]:
    """The latency sample of telemetry.store_call without its span."""
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException:
        outcome = "error"
        raise
    finally:
        telemetry.STORE_SECONDS.labels(store, family, outcome).observe(
            time.perf_counter() - started)


BLOCKS = 5  # the median block's figure: another stack's burst spoils one block, not all


CONTEXTS = ("sampled", "unsampled", "untraced")


async def _cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> dict[str, float]:
    tracer = trace.get_tracer("bench")
    size = max(1, calls // BLOCKS)
    # A request the edge did not sample (k8s samples 1%): its traceparent says
    # "not sampled", and every span under it is a non-recording one.
    unsampled = NonRecordingSpan(SpanContext(0x1234, 0x5678, is_remote=True,
                                             trace_flags=TraceFlags(0)))

    async def sampled() -> None:
        with tracer.start_as_current_span("request"):
            await call()

    async def request_span_only() -> None:
        with tracer.start_as_current_span("request"):
            pass

    async def in_unsampled() -> None:
        with trace.use_span(unsampled):
            await call()

    async def block(one: Callable[[], Awaitable[Any]]) -> float:
        started = time.process_time()
        for _ in range(size):
            await one()
        return (time.process_time() - started) / size * 1e6

    for _ in range(min(200, calls)):  # warm: connections, caches, code paths
        await call()
    runs: dict[str, list[float]] = {c: [] for c in (*CONTEXTS, "request")}
    for _ in range(BLOCKS):  # interleaved, so the machine's load falls on each alike
        runs["sampled"].append(await block(sampled))
        runs["unsampled"].append(await block(in_unsampled))
        runs["untraced"].append(await block(call))
        runs["request"].append(await block(request_span_only))
    median = {k: statistics.median(v) for k, v in runs.items()}
    # The request span itself is not the call's: its cost is taken off.
    median["sampled"] -= median.pop("request")
    return median


async def _redis(env: dict[str, str], variant: str, calls: int) -> dict[str, float]:
    if variant == "instr":
        from opentelemetry.instrumentation.redis import RedisInstrumentor  # type: ignore[import-not-found]  # noqa: PLC0415 (not a dependency)

        RedisInstrumentor().instrument()

    class Hand(RedisCluster):
        async def execute_command(self, *args: Any, **options: Any) -> Any:
            with telemetry.store_call("redis", str(args[0]).upper()):
                return await super().execute_command(*args, **options)

    class Sampled(RedisCluster):
        async def execute_command(self, *args: Any, **options: Any) -> Any:
            with _sample_only("redis", str(args[0]).upper()):
                return await super().execute_command(*args, **options)

    kind = {"bare": RedisCluster, "hand": Hand, "instr": Sampled}[variant]
    host, _, port = env["REDIS_URL"].removeprefix("redis+cluster://").split(",")[0] \
        .removeprefix("redis://").partition(":")
    client = kind(host=host, port=int(port.split("/")[0]))
    await client.set("bench:otel", "x")
    try:
        return await _cpu_per_call(lambda: client.get("bench:otel"), calls)
    finally:
        await client.aclose()


async def _postgres(env: dict[str, str], variant: str, calls: int) -> dict[str, float]:
    if variant == "instr":
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor  # type: ignore[import-not-found]  # noqa: PLC0415 (not a dependency)

        PsycopgInstrumentor().instrument()

    class Hand(psycopg.AsyncCursor[Any]):
        async def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            with telemetry.store_call("postgresql", telemetry.statement_family(query)):
                return await super().execute(query, params, **kw)

    conn = await psycopg.AsyncConnection.connect(env["PG_DSN"], autocommit=True)
    if variant == "hand":
        conn.cursor_factory = Hand

    async def call() -> Any:
        cursor = conn.cursor()
        if variant == "instr":
            with _sample_only("postgresql", telemetry.statement_family("SELECT 1")):
                await cursor.execute("SELECT 1")
        else:
            await cursor.execute("SELECT 1")
        return await cursor.fetchall()

    try:
        return await _cpu_per_call(call, calls)
    finally:
        await conn.close()


async def _s3(env: dict[str, str], variant: str, calls: int) -> dict[str, float]:
    if variant == "instr":
        from opentelemetry.instrumentation.botocore import BotocoreInstrumentor  # type: ignore[import-not-found]  # noqa: PLC0415 (not a dependency)

        BotocoreInstrumentor().instrument()
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY"], aws_secret_access_key=env["S3_SECRET_KEY"])
    bucket = env["S3_BUCKET"]
    def untimed(_store: str, _family: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    wraps: dict[str, Callable[[str, str], contextlib.AbstractContextManager[None]]] = {
        "bare": untimed, "hand": telemetry.store_call, "instr": _sample_only}
    wrap = wraps[variant]

    async def call() -> Any:  # synchronous, as media's storage runs it (on a thread there)
        with wrap("s3", "HeadBucket"):
            return s3.head_bucket(Bucket=bucket)

    return await _cpu_per_call(call, calls)


class HandServerSpan(grpc.aio.ServerInterceptor):
    """The span part of services/shared/rpc/interceptors/, around a unary handler."""

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner, method = handler.unary_unary, details.method

        async def unary(request: Any, context: Any) -> Any:
            metadata = dict(context.invocation_metadata() or ())
            with telemetry.server_span(method, metadata) as span:
                response = await inner(request, context)
                telemetry.mark_error(span, "OK")
                return response

        return grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


async def _grpc(_env: dict[str, str], variant: str, calls: int) -> dict[str, float]:
    interceptors: list[Any] = []
    if variant == "instr":
        from opentelemetry.instrumentation.grpc import aio_server_interceptor  # type: ignore[import-not-found]  # noqa: PLC0415 (not a dependency)

        interceptors.append(aio_server_interceptor())
    elif variant == "hand":
        interceptors.append(HandServerSpan())
    server = grpc.aio.server(interceptors=interceptors)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()

    async def call() -> Any:  # the caller's trace context, as services/shared/rpc/clients.py
        return await stub.Check(request, metadata=tuple(telemetry.inject({}).items()))

    try:
        return await _cpu_per_call(call, calls)
    finally:
        await channel.close()
        await server.stop(None)


RUNNERS = {"redis": _redis, "postgres": _postgres, "s3": _s3, "grpc": _grpc}


def _one(store: str, variant: str, calls: int) -> dict[str, float]:
    _find_instrumentation()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Dropped()))
    trace.set_tracer_provider(provider)
    env = contract.build(topology.load())
    result = asyncio.run(RUNNERS[store](env, variant, calls))
    provider.shutdown()
    return result


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[1] == "--one":
        store, variant = argv[2], argv[3]
        print(json.dumps(_one(store, variant, CALLS[store] * int(os.environ["BENCH_SCALE"])
                              // 100)))
        return 0
    scale = argv[1] if len(argv) > 1 else "100"  # percent of CALLS
    print(f"{'store':9} {'variant':7}" + "".join(f"{c:>11}" for c in CONTEXTS)
          + "  (us of CPU per call)  calls")
    for store in STORES:
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, "-m", "benchmarks.otel_spans", "--one",
                                  store, variant], check=True, capture_output=True, text=True,
                                 env={**os.environ, "BENCH_SCALE": scale}).stdout
            figures = json.loads(out.strip().splitlines()[-1])
            print(f"{store:9} {variant:7}" + "".join(f"{figures[c]:11.1f}" for c in CONTEXTS)
                  + f"  {'':20}  {CALLS[store] * int(scale) // 100}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
