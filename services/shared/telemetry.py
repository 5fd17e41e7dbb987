"""OpenTelemetry tracing: one span per RPC, W3C trace context carried in gRPC
metadata and in JetStream message headers.

Spans are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the
collector in production); otherwise tracing stays in-process and only
propagates context, which costs next to nothing. Metrics are Prometheus text
(prometheus_client) on METRICS_PORT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

_tracer = trace.get_tracer("twitter-mesh")


def configure_tracing(service_name: str) -> None:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


@contextmanager
def server_span(method: str, carrier: Mapping[str, str]) -> Iterator[Span]:
    """A SERVER span for an incoming call, child of the caller's traceparent."""
    with _tracer.start_as_current_span(
        method, context=propagate.extract(carrier), kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.method": method},
    ) as span:
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
    """A CONSUMER span for a JetStream message, linked to its producer's trace."""
    with _tracer.start_as_current_span(name, context=propagate.extract(headers or {}),
                                       kind=SpanKind.CONSUMER) as span:
        yield span
