"""JetStream: the stream's snapshot (messages and consumers' state) through the
JetStream API, and its restore into a server that does not have the stream.

The protocol is the one the nats CLI uses (nats-io/jsm.go snapshots.go): the server
sends the snapshot (an s2-compressed tar) in chunks to a deliver subject, asking for
an acknowledgement now and then (flow control), and ends with an empty message; a
restore sends the chunks back one request at a time, then an empty request.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
from nats.aio.msg import Msg

from services.shared.events import STREAM
from stack.errors import StackError

CHUNK = 128 * 1024
RESTORE_CHUNK = 64 * 1024
TIMEOUT = 30.0


def _answer(msg: Msg) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(msg.data)
    if "error" in body:
        raise StackError(f"JetStream: {body['error'].get('description', body['error'])}")
    return body


async def snapshot(url: str, out: Path, stream: str = STREAM) -> dict[str, Any]:
    """Writes the snapshot to out; returns the stream's config and state at that point."""
    nc = await nats.connect(url, connect_timeout=10, allow_reconnect=False)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        with out.open("wb") as file:
            async def chunk(msg: Msg) -> None:
                if done.done():
                    return
                status = (msg.headers or {}).get("Status")
                if status and not status.startswith("2"):
                    done.set_exception(StackError(f"JetStream snapshot: status {status}"))
                elif not msg.data:
                    done.set_result(None)
                else:
                    file.write(msg.data)
                    if msg.reply:
                        await nc.publish(msg.reply, b"")

            inbox = nc.new_inbox()
            await nc.subscribe(inbox, cb=chunk, pending_msgs_limit=-1, pending_bytes_limit=-1)
            request = {"deliver_subject": inbox, "chunk_size": CHUNK, "no_consumers": False}
            meta = _answer(await nc.request(f"$JS.API.STREAM.SNAPSHOT.{stream}",
                                            json.dumps(request).encode(), timeout=TIMEOUT))
            await asyncio.wait_for(done, timeout=1800)
    finally:
        await nc.close()
    return {"config": meta["config"], "state": meta["state"]}


async def restore(url: str, data: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Recreates the stream (with its consumers) from a snapshot; returns its state."""
    stream = meta["config"]["name"]
    nc = await nats.connect(url, connect_timeout=10, allow_reconnect=False)
    try:
        request = {"config": meta["config"], "state": meta["state"]}
        answer = _answer(await nc.request(f"$JS.API.STREAM.RESTORE.{stream}",
                                          json.dumps(request).encode(), timeout=TIMEOUT))
        deliver = answer["deliver_subject"]
        with data.open("rb") as file:
            while block := file.read(RESTORE_CHUNK):
                reply = await nc.request(deliver, block, timeout=TIMEOUT)
                if reply.data:
                    _answer(reply)
        final = _answer(await nc.request(deliver, b"", timeout=600))
    finally:
        await nc.close()
    state: dict[str, Any] = final.get("state", {})
    return state
