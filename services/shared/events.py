"""JetStream conventions shared by publishers and consumers.

Subjects are `twitter.<entity>.<event>`; every event lands in one durable stream.
The event id is the JetStream message id, so a retried publish inside the
duplicate window is stored once; consumers still de-duplicate (idempotent
handlers) because redelivery after a crash is normal.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import nats
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
from nats.js.errors import BadRequestError

from services.shared import contracts, telemetry

STREAM = "TWITTER"
SUBJECTS = ["twitter.>"]
__all__ = ["DeliverPolicy", "Event", "connect", "ensure_stream", "make_event", "publish"]

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


async def connect(url: str, *, name: str) -> tuple[Client, JetStreamContext]:
    """Connects with endless reconnects: a NATS restart must not kill a service."""
    nc = await nats.connect(url, name=name, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.5, connect_timeout=5)
    return nc, nc.jetstream(timeout=5)


async def ensure_stream(js: JetStreamContext) -> None:
    """Creates the event stream, or updates its config; safe from many processes."""
    config = StreamConfig(
        name=STREAM,
        subjects=SUBJECTS,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=timedelta(days=7).total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def publish(js: JetStreamContext, event: Event) -> None:
    """Publishes and waits for the stream's ack (raises when it does not come)."""
    headers = headers_for(event)
    with telemetry.producer_span(event.subject, event.trace_headers, headers):
        await js.publish(event.subject, event.payload, headers=headers)
