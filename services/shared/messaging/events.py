"""JetStream conventions shared by publishers and consumers.

Subjects are `twitter.<entity>.<event>`; every event lands in one durable stream.
The event id is the JetStream message id, so a retried publish inside the
duplicate window is stored once; consumers still de-duplicate (idempotent
handlers) because redelivery after a crash is normal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import nats.errors
import nats.js.errors
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from services.shared import contracts
from services.shared.observability import telemetry
from services.shared.resilience import failures

# The bus unreachable, reconnecting or without a responder: down. Its timeouts
# are the builtin TimeoutError, which the failure policy knows already.
failures.register(
    "the event bus", modules=("nats",),
    unavailable=(nats.errors.NoServersError, nats.errors.ConnectionClosedError,
                 nats.errors.ConnectionReconnectingError, nats.errors.StaleConnectionError,
                 nats.errors.OutboundBufferLimitError, nats.errors.NoRespondersError,
                 nats.js.errors.ServiceUnavailableError, nats.js.errors.NoStreamResponseError))

STREAM = "TWITTER"
SUBJECTS = ["twitter.>"]
__all__ = ["DeliverPolicy", "Event", "StreamLimits", "connect", "ensure_stream", "make_event",
           "publish"]

CONTENT_TYPE = "application/protobuf"
DUPLICATE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Event:
    """An event ready to publish: subject, id and serialized payload."""

    subject: str
    event_id: str
    payload: bytes
    type_name: str
    # W3C trace context of the change that caused the event (traceparent).
    trace_headers: Mapping[str, str] = field(default_factory=dict)


def new_event_id() -> str:
    return uuid.uuid4().hex


def timestamp_now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


def make_event(message: Message) -> Event:
    """Wraps a proto event (which carries its own `event_id`) for publishing on
    the subject its contract names."""
    event_id = getattr(message, "event_id", "") or new_event_id()
    return Event(contracts.subject(message), event_id, message.SerializeToString(),
                 message.DESCRIPTOR.full_name, dict(telemetry.inject({})))


def headers_for(event: Event) -> dict[str, str]:
    return {
        "Nats-Msg-Id": event.event_id,
        "Content-Type": CONTENT_TYPE,
        "Event-Type": event.type_name,
        **event.trace_headers,
    }


def servers(url: str) -> list[str]:
    """"nats://a:1,nats://b:2" -> each server of a cluster (nats-py takes a list)."""
    return [u.strip() for u in url.split(",") if u.strip()]


async def connect(url: str, *, name: str) -> tuple[Client, JetStreamContext]:
    """Connects with endless reconnects: a NATS restart must not kill a service,
    and with a cluster's servers listed, one server's death moves it to another."""
    nc = await nats.connect(servers(url), name=name, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.5, connect_timeout=5)
    return nc, nc.jetstream(timeout=5)


@dataclass(frozen=True)
class StreamLimits:
    """The stream's size as configured (NatsSettings' jetstream_*)."""

    replicas: int = 1
    max_age_seconds: float = timedelta(days=7).total_seconds()
    max_bytes: int = -1  # no size limit

    @classmethod
    def of(cls, settings: Any) -> StreamLimits:
        return cls(settings.jetstream_replicas, settings.jetstream_max_age_seconds,
                   settings.jetstream_max_bytes)


def _larger(current: float, wanted: float, unlimited: float) -> float:
    """The larger of two limits. `unlimited` (0 or -1) in the configuration
    asks nothing of an existing stream (an operator's cap stays); on the
    stream it is already the largest."""
    if unlimited in (current, wanted):
        return current
    return max(current, wanted)


def grown(current: StreamConfig, limits: StreamLimits) -> StreamConfig | None:
    """`current` with its replicas and limits raised to `limits` where they are
    smaller, or None when nothing grows. Never lowers anything: an operator may
    have sized the stream above what the services ask for."""
    subjects = sorted(set(current.subjects or []) | set(SUBJECTS))
    replicas = max(current.num_replicas or 1, limits.replicas)
    max_age = _larger(current.max_age or 0, limits.max_age_seconds, 0)
    max_bytes = int(_larger(current.max_bytes or -1, limits.max_bytes, -1))
    if (subjects, replicas, max_age, max_bytes) == (
            sorted(current.subjects or []), current.num_replicas or 1, current.max_age or 0,
            current.max_bytes or -1):
        return None
    return replace(current, subjects=subjects, num_replicas=replicas, max_age=max_age,
                   max_bytes=max_bytes)


async def _create(js: JetStreamContext, limits: StreamLimits) -> StreamConfig | None:
    """Creates the stream; None, or the config of the stream another process
    created first."""
    try:
        await js.add_stream(StreamConfig(
            name=STREAM, subjects=SUBJECTS, retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE, discard=DiscardPolicy.OLD,
            num_replicas=limits.replicas, max_age=limits.max_age_seconds,
            max_bytes=limits.max_bytes, duplicate_window=DUPLICATE_WINDOW.total_seconds()))
    except BadRequestError:
        return (await js.stream_info(STREAM)).config
    return None


async def ensure_stream(js: JetStreamContext, limits: StreamLimits | None = None) -> None:
    """Creates the event stream, or grows an existing one to `limits`; safe
    from many processes starting at once."""
    limits = limits or StreamLimits()
    try:
        current: StreamConfig | None = (await js.stream_info(STREAM)).config
    except NotFoundError:
        current = await _create(js, limits)
    bigger = grown(current, limits) if current is not None else None
    if bigger is not None:
        await js.update_stream(bigger)


async def publish(js: JetStreamContext, event: Event, *,
                  timeout: float | None = None) -> None:  # noqa: ASYNC109 - the ack's, passed on
    """Publishes and waits for the stream's ack (raises when it does not come
    within `timeout`, by default the context's)."""
    headers = headers_for(event)
    with telemetry.producer_span(event.subject, event.trace_headers, headers):
        await js.publish(event.subject, event.payload, timeout=timeout, headers=headers)
