"""The event stream's size comes from config and a service start never shrinks
it (services/shared/messaging/events.py ensure_stream), against the stack's real NATS."""

from __future__ import annotations

from dataclasses import replace

from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from services.shared.messaging import events
from services.shared.messaging.events import StreamLimits


async def test_a_start_keeps_an_operators_larger_limits(js: JetStreamContext) -> None:
    before = (await js.stream_info(events.STREAM)).config
    # What an operator did by hand: a month of events and a size cap.
    sized = replace(before, max_age=30 * 86_400.0, max_bytes=8 * 2**30)
    await js.update_stream(sized)
    try:
        await events.ensure_stream(js, StreamLimits())  # a service's start
        after = (await js.stream_info(events.STREAM)).config
        assert (after.max_age, after.max_bytes) == (30 * 86_400.0, 8 * 2**30)
        # Configured above the operator's: it grows to the configuration; a
        # size left unlimited in the configuration keeps the operator's cap.
        await events.ensure_stream(js, StreamLimits(max_age_seconds=60 * 86_400.0,
                                                    max_bytes=-1))
        after = (await js.stream_info(events.STREAM)).config
        assert (after.max_age, after.max_bytes) == (60 * 86_400.0, 8 * 2**30)
    finally:
        await js.update_stream(before)


def test_grown_never_lowers_and_unlimited_wins() -> None:
    current = StreamConfig(name="S", subjects=["twitter.>"], num_replicas=3,
                                  max_age=0, max_bytes=100)
    assert events.grown(current, StreamLimits(replicas=1, max_age_seconds=10,
                                              max_bytes=50)) is None
    bigger = events.grown(current, StreamLimits(replicas=5, max_age_seconds=10, max_bytes=200))
    assert bigger is not None
    assert (bigger.num_replicas, bigger.max_age, bigger.max_bytes) == (5, 0, 200)
