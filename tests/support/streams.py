"""Reading a live stream through the edge: newline-delimited JSON, or
Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import aconnect_sse

Message = dict[str, Any]


async def listen(edge_url: str, path: str, headers: dict[str, str], received: list[Message],
                 opened: asyncio.Event, until: Callable[[Message], bool]) -> None:
    """Appends each message of the stream at `path` to `received`, sets
    `opened` at the first (the heartbeat that says the stream is registered),
    and returns after the first message `until` accepts."""
    async with httpx.AsyncClient(base_url=edge_url, timeout=None) as client, \
            client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        async for raw in response.aiter_lines():
            line = raw.strip().lstrip("[,").rstrip(",]")
            if not line:
                continue
            message = json.loads(line)
            received.append(message)
            opened.set()
            if until(message):
                return


@dataclass(frozen=True)
class SseEvent:
    """One Server-Sent Event as a spec-following client (httpx-sse) parses it."""

    event: str
    id: str
    data: Any  # the JSON of `data`


async def listen_sse(edge_url: str, path: str, headers: dict[str, str],
                     received: list[SseEvent], opened: asyncio.Event,
                     until: Callable[[SseEvent], bool]) -> None:
    """Appends each named event of the Server-Sent Events stream at `path` to
    `received` (heartbeats are comments: a client never sees them), sets
    `opened` when the answer's headers arrive (the edge sends them with the
    stream's first chunk, once the stream is registered), and returns after
    the first event `until` accepts."""
    async with httpx.AsyncClient(base_url=edge_url, timeout=None) as client, \
            aconnect_sse(client, "GET", path, headers=headers) as source:
        assert source.response.status_code == 200, await source.response.aread()
        assert source.response.headers["content-type"] == "text/event-stream"
        opened.set()
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # the opening `retry:` alone
            event = SseEvent(sse.event, sse.id, json.loads(sse.data))
            received.append(event)
            if until(event):
                return
