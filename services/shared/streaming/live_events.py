"""A live stream's events, and their two framings on the wire.

A service's stream (the home timeline's, the notifications') is one sequence
of events: an opening heartbeat, then what its domain renders from each item
of its LiveStream (services/shared/streaming/live_streams.py), and a heartbeat whenever
the stream is idle. `events` makes that sequence; the servicer only says how
an item becomes events (its visibility rules: blocks, mutes, hidden actors).
The same sequence then goes out either way:

- as typed messages of a gRPC server stream, which the edge's transcoder
  prints one JSON object per line (NDJSON): the servicer maps Event and
  heartbeat to its response message;
- as Server-Sent Events (text/event-stream) in google.api.HttpBody chunks,
  which the transcoder passes through unwrapped (`sse_chunks`). Mastodon's
  streaming API is the model: `event: <name>`, `id:`, `data: <JSON>`, a
  comment line as the heartbeat, and `retry:` at the start. On reconnect an
  EventSource sends the last id back (Last-Event-ID): `events` then sends
  the backlog the service read for it first, without what the live part
  repeats.

The JSON of an SSE event's data is the proto3 JSON mapping with the edge's
print options (lowerCamelCase names, every scalar field present, enums by
name, 64-bit integers as strings), so it equals the NDJSON line's object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.api import httpbody_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from services.shared.errors import InvalidArgument
from services.shared.streaming.live_streams import LiveStream

SSE_CONTENT_TYPE = "text/event-stream"
LAST_EVENT_ID_HEADER = "last-event-id"
# How long an EventSource waits before it reconnects after the stream ended
# (a stream ends after its lifetime, or when a server process stops).
RETRY_MS = 3000

T = TypeVar("T")
M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Event(Generic[M]):
    """One event of a live stream: its SSE name, its data, its SSE id (the
    Last-Event-ID a client resumes from; 0 for none) and, when one id can
    name several events (a notification group's states), what tells them
    apart."""

    name: str
    message: M
    event_id: int = 0
    revision: bytes = b""


# What `events` yields when the stream is idle (and first, once it is open).
HEARTBEAT = None
Item = Event[M] | None


async def events(open_stream: Callable[[], Awaitable[LiveStream[Any]]],
                 render: Callable[[Any], Awaitable[Iterable[Event[M]]]],
                 backlog: Callable[[], Awaitable[Iterable[Event[M]]]] | None = None,
                 ) -> AsyncIterator[Item[M]]:
    """The stream's events: a heartbeat as soon as it is open (it tells the
    client, and any proxy, that the stream is registered), the backlog (read
    after the stream is open, so nothing falls between them), then `render`
    of each live item (none for one the user must not see) and a heartbeat
    when idle. Opening raises before anything is sent (RESOURCE_EXHAUSTED);
    the stream is closed however the iteration ends."""
    stream = await open_stream()
    try:
        yield HEARTBEAT
        sent = set()
        for event in await backlog() if backlog is not None else ():
            sent.add(_key(event))
            yield event
        async for item in stream:
            if item is None:
                yield HEARTBEAT
                continue
            for event in await render(item):
                if sent and _key(event) in sent:
                    continue  # already in the backlog: it changed while that was read
                yield event
    finally:
        await stream.close()


def _key(event: Event[Any]) -> tuple[str, int, bytes]:
    return event.name, event.event_id, event.revision


async def ndjson(items: AsyncIterator[Item[M]], *, heartbeat: Callable[[], T],
                 wrap: Callable[[Event[M]], T]) -> AsyncIterator[T]:
    """The events as the service's typed stream messages (NDJSON at the edge)."""
    async for item in items:
        yield heartbeat() if item is None else wrap(item)


async def sse_chunks(items: AsyncIterator[Item[Any]]) -> AsyncIterator[httpbody_pb2.HttpBody]:
    """The events as Server-Sent Events text, one HttpBody per event (the
    first says the content type, which the edge sends as the response's)."""
    first = True
    async for item in items:
        text = sse_text(item)
        if first:
            text = f"retry: {RETRY_MS}\n" + text
            first = False
        yield httpbody_pb2.HttpBody(content_type=SSE_CONTENT_TYPE, data=text.encode())


def sse_text(item: Item[Any]) -> str:
    """One event in text/event-stream form; a heartbeat is a comment line,
    which EventSource ignores and which keeps proxies from timing out."""
    if item is None:
        return ":heartbeat\n\n"
    data = json_format.MessageToJson(item.message, always_print_fields_with_no_presence=True,
                                     indent=None, ensure_ascii=False)
    event_id = f"id: {item.event_id}\n" if item.event_id else ""
    # json.dumps-style output has no newline, so the data is one line.
    return f"event: {item.name}\n{event_id}data: {data}\n\n"


def last_event_id(metadata: Iterable[tuple[str, str | bytes]]) -> int:
    """The Last-Event-ID a reconnecting client sent (0: none). Our ids are
    positive 64-bit integers; anything else is INVALID_ARGUMENT."""
    for key, value in metadata:
        if key.lower() != LAST_EVENT_ID_HEADER:
            continue
        text = value.decode() if isinstance(value, bytes) else value
        text = text.strip()
        if not text:
            return 0
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
            raise InvalidArgument("Last-Event-ID must be the id of an event of this stream "
                                  "(a positive integer)")
        return int(text)
    return 0
