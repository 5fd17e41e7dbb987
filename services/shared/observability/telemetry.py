"""OpenTelemetry tracing: one span per RPC, per store call and per event
published or consumed, W3C trace context carried in gRPC metadata and in
JetStream message headers.

Spans are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
local stack's trace backend, the collector in production); otherwise tracing
stays in-process and only propagates context, which costs next to nothing.
Sampling is the SDK's, from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG
(default parent-based, always on): the edge decides for every request it
traces (EDGE_TRACE_SAMPLING_PERCENT) and the services follow its decision, so
a trace is whole or absent. An unsampled span is a no-op object: the hot read
path pays for context propagation only.

Metrics are Prometheus text (prometheus_client) on METRICS_PORT.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from functools import lru_cache

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from prometheus_client import Histogram

_tracer = trace.get_tracer("twitter-mesh")

STORE_SECONDS = Histogram(
    "store_client_seconds",
    "Time of one call to a store, by store and statement family (verb and table).",
    ["store", "family", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


def configure_tracing(service_name: str) -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def flush_spans(timeout_seconds: float) -> None:
    """Exports the spans still queued, waiting at most `timeout_seconds`."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=int(timeout_seconds * 1000))


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids in hex, for log lines; None outside a
    sampled span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


@contextmanager
def server_span(method: str, carrier: Mapping[str, str]) -> Iterator[Span]:
    """A SERVER span for an incoming call, child of the caller's traceparent."""
    with _tracer.start_as_current_span(
        method, context=propagate.extract(carrier), kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.method": method},
    ) as span:
        request_id = carrier.get("x-request-id")
        if request_id and span.is_recording():
            span.set_attribute("request_id", request_id)
        yield span


def mark_error(span: Span, code: str) -> None:
    span.set_attribute("rpc.grpc.status_code", code)
    if code != "OK":
        span.set_status(Status(StatusCode.ERROR, code))


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Adds the current trace context (traceparent) to outgoing headers."""
    propagate.inject(headers)
    return headers


@contextmanager
def consumer_span(name: str, headers: Mapping[str, str] | None) -> Iterator[Span]:
    """A CONSUMER span for a JetStream message, a child of the span that published it."""
    with _tracer.start_as_current_span(name, context=propagate.extract(headers or {}),
                                       kind=SpanKind.CONSUMER) as span:
        yield span


@contextmanager
def producer_span(subject: str, origin: Mapping[str, str],
                  headers: MutableMapping[str, str]) -> Iterator[Span]:
    """A PRODUCER span for publishing an event, child of the change that caused
    it (`origin`: the trace context stored with the event, so an event the
    outbox relay publishes later still joins its request's trace). Its own
    context replaces the origin's in `headers`, so consumers are its children."""
    with _tracer.start_as_current_span(
        f"publish {subject}", context=propagate.extract(origin), kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "nats", "messaging.destination.name": subject},
    ) as span:
        if span.is_recording():
            propagate.inject(headers)
        yield span


@contextmanager
def store_call(store: str, family: str, attributes: Mapping[str, str] | None = None
               ) -> Iterator[None]:
    """A latency sample for one call to a store, and a CLIENT span when it is made
    inside a sampled trace (background loops, such as a blocking XREAD or a
    lease renewal, would otherwise start a trace of their own every time)."""
    started, outcome = time.perf_counter(), "ok"
    span = trace.get_current_span().is_recording() and _tracer.start_as_current_span(
        f"{store} {family}", kind=SpanKind.CLIENT,
        attributes={"db.system": store, **(attributes or {})})
    try:
        if span:
            with span:
                yield
        else:
            yield
    except BaseException:
        outcome = "error"
        raise
    finally:
        STORE_SECONDS.labels(store, family, outcome).observe(time.perf_counter() - started)


_VERB = re.compile(r"^\s*(\w+)", re.ASCII)
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+(?:ONLY\s+)?([\w.\"]+)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def statement_family(query: str) -> str:
    """'SELECT tweets', 'INSERT tweets_outbox': a statement's verb and first table,
    a label with few values (never the statement's literals)."""
    if not query.strip():
        return "ping"  # an empty statement: a pool checking its connection
    verb = _VERB.match(query)
    table = _TABLE.search(query)
    name = verb.group(1).upper() if verb else "?"
    return f"{name} {table.group(1).strip(chr(34)).split('.')[-1]}" if table else name
