"""Waiting on JetStream: until a durable consumer has handled a given event,
so that a test can assert what the handler did *not* do."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from nats.js.errors import NotFoundError

from services.shared.contracts import subject as subject_of
from services.shared.messaging import events as jetstream
from tests.support.wait import eventually

# The timeline worker's consumer of tweet events (services/timeline/worker.py).
TIMELINE_TWEETS = "timeline-tweets"


E = TypeVar("E", bound=Message)


async def handled(nats_url: str, durable: str, event: type[E],
                  is_ours: Callable[[E], bool], within: float = 30.0) -> None:
    """Until `durable` has acknowledged the newest event of type `event` (on the
    subject its contract names), once that event is the one `is_ours`
    recognises (it may not be published yet)."""
    subject = subject_of(event)
    nc, js = await jetstream.connect(nats_url, name="test-wait")
    try:
        async def our_seq() -> int:
            last = await js.get_last_msg(jetstream.STREAM, subject)
            ours = last.data is not None and is_ours(event.FromString(last.data))
            return (last.seq or 0) if ours else 0

        seq = await eventually(our_seq, within=within, what=f"our event on {subject}",
                               ignoring=(NotFoundError,))

        async def acked() -> bool:
            info = await js.consumer_info(jetstream.STREAM, durable)
            return info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= seq

        await eventually(acked, within=within, what=f"{durable} acknowledging event {seq}")
    finally:
        await nc.close()
