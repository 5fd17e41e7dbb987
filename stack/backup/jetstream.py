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
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from services.shared.messaging.events import STREAM
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


async def ack_floors(url: str, stream: str = STREAM) -> dict[str, int]:
    """Each durable consumer's ack floor: every message up to it was handled (and its
    effect stored) before now."""
    nc = await nats.connect(url, connect_timeout=10, allow_reconnect=False)
    try:
        infos = await nc.jetstream().consumers_info(stream)
    finally:
        await nc.close()
    return {i.name: i.ack_floor.stream_seq if i.ack_floor else 0 for i in infos}


async def rewind(url: str, floors: dict[str, int], stream: str = STREAM) -> None:
    """Make each consumer deliver again everything after its floor as the backup began.

    The snapshot's own consumer positions are later than the other stores' copies:
    an event handled between a store's copy and the stream's snapshot would count as
    handled while its effect is missing. Every handler is idempotent, so handling
    again what was handled after the backup began costs time, never correctness.
    """
    nc = await nats.connect(url, connect_timeout=10, allow_reconnect=False)
    js = nc.jetstream()
    try:
        for name, floor in floors.items():
            try:
                config = (await js.consumer_info(stream, name)).config
            except NotFoundError:
                continue
            await js.delete_consumer(stream, name)
            config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            config.opt_start_seq = floor + 1
            config.opt_start_time = None
            await js.add_consumer(stream, config)
    finally:
        await nc.close()
