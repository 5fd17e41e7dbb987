"""Reading a live stream through the edge (newline-delimited JSON)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

Message = dict[str, Any]


async def listen(edge_url: str, path: str, headers: dict[str, str], received: list[Message],
                 opened: asyncio.Event, until: Callable[[Message], bool]) -> None:
    """Appends each message of the stream at `path` to `received`, sets
    `opened` at the first (the heartbeat that says the stream is registered),
    and returns after the first message `until` accepts."""
    async with httpx.AsyncClient(base_url=edge_url, timeout=None) as client, \
            client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        async for raw in response.aiter_lines():
            line = raw.strip().lstrip("[,").rstrip(",]")
            if not line:
                continue
            message = json.loads(line)
            received.append(message)
            opened.set()
            if until(message):
                return
