"""The shared JetStream consumer against the real NATS server."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from services.shared.messaging import consumer
from services.shared.messaging import events as jetstream
from services.shared.messaging.consumer import ConsumerSpec, Progress
from tests.support.wait import eventually


async def consumer_bound(js: JetStreamContext, durable: str) -> None:
    """Until the runner has created its durable consumer (events published
    before that would not be delivered to it)."""
    async def exists() -> bool:
        await js.consumer_info(jetstream.STREAM, durable)
        return True
    await eventually(exists, within=10, what=f"consumer {durable}", ignoring=(NotFoundError,))


async def test_poison_message_goes_to_dead_letter_after_bounded_attempts(
        stack_env: dict[str, str]) -> None:
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    tag = uuid.uuid4().hex[:8]
    subject, durable = f"twitter.test{tag}.event", f"test-{tag}"
    attempts: list[str] = []
    handled: list[bytes] = []

    async def handler(_: str, data: bytes, progress: Progress) -> None:
        if data == b"poison":
            attempts.append("x")
            raise ValueError("cannot handle this")
        handled.append(data)

    dead = await nc.subscribe(f"twitter.dlq.{durable}")
    stop = asyncio.Event()
    spec = ConsumerSpec(durable, f"twitter.test{tag}.>", {subject: handler},
                        ack_wait_seconds=5, max_deliver=3, retry_base_seconds=0.05)
    runner = asyncio.create_task(consumer.run(js, spec, stop))
    try:
        await consumer_bound(js, durable)
        await js.publish(subject, b"poison", headers={"Nats-Msg-Id": uuid.uuid4().hex})
        await js.publish(subject, b"fine", headers={"Nats-Msg-Id": uuid.uuid4().hex})
        msg = await dead.next_msg(timeout=15)
        assert msg.data == b"poison"
        assert msg.headers
        assert msg.headers["Original-Subject"] == subject
        assert len(attempts) == 3  # max_deliver, no more
        assert handled == [b"fine"]  # the poison message never blocked the next one
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await js.delete_consumer(jetstream.STREAM, durable)
        await nc.close()


async def test_duplicate_publish_is_stored_once(stack_env: dict[str, str]) -> None:
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    try:
        subject = f"twitter.test{uuid.uuid4().hex[:8]}.event"
        event_id = uuid.uuid4().hex
        first = await js.publish(subject, b"x", headers={"Nats-Msg-Id": event_id})
        again = await js.publish(subject, b"x", headers={"Nats-Msg-Id": event_id})
        assert again.duplicate
        assert again.seq == first.seq
    finally:
        await nc.close()


async def test_an_outage_longer_than_the_redelivery_budget_loses_no_event(
        stack_env: dict[str, str]) -> None:
    """A handler whose store is down fails far more often than max_deliver;
    the event is held, not dead-lettered, and handled once the store is back."""
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    tag = uuid.uuid4().hex[:8]
    subject, durable = f"twitter.test{tag}.event", f"test-{tag}"
    failures: list[str] = []
    handled: list[bytes] = []

    async def handler(_: str, data: bytes, progress: Progress) -> None:
        if len(failures) < 8:  # the store is down for the first 8 attempts
            failures.append("x")
            # A real driver's connection error: nothing listens on port 1.
            await psycopg.AsyncConnection.connect("postgresql://x@127.0.0.1:1/x")
        handled.append(data)

    dead = await nc.subscribe(f"twitter.dlq.{durable}")
    stop = asyncio.Event()
    spec = ConsumerSpec(durable, f"twitter.test{tag}.>", {subject: handler},
                        ack_wait_seconds=5, max_deliver=3, retry_base_seconds=0.05,
                        outage_retry_seconds=0.05, outage_retry_max_seconds=0.2)
    runner = asyncio.create_task(consumer.run(js, spec, stop))
    try:
        await consumer_bound(js, durable)
        await js.publish(subject, b"event", headers={"Nats-Msg-Id": uuid.uuid4().hex})

        async def done() -> bool:
            return bool(handled)
        await eventually(done, within=30, every=0.1, what="the event handled")
        assert handled == [b"event"]
        assert len(failures) == 8  # well past max_deliver=3
        assert not dead.pending_msgs  # nothing dead-lettered
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
        await js.delete_consumer(jetstream.STREAM, durable)
        await nc.close()


async def test_an_event_that_always_times_out_is_held_only_so_long(
        stack_env: dict[str, str]) -> None:
    """An outage-shaped failure that never ends (the event's own fault) stops
    being held after `outage_hold_seconds` and goes the poison way."""
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    tag = uuid.uuid4().hex[:8]
    subject, durable = f"twitter.test{tag}.event", f"test-{tag}"

    async def handler(_: str, data: bytes, progress: Progress) -> None:
        raise TimeoutError("this event is too big to handle in time")

    dead = await nc.subscribe(f"twitter.dlq.{durable}")
    stop = asyncio.Event()
    spec = ConsumerSpec(durable, f"twitter.test{tag}.>", {subject: handler},
                        ack_wait_seconds=5, max_deliver=2, retry_base_seconds=0.05,
                        outage_retry_seconds=0.05, outage_retry_max_seconds=0.1,
                        outage_hold_seconds=0.3)
    runner = asyncio.create_task(consumer.run(js, spec, stop))
    try:
        await consumer_bound(js, durable)
        await js.publish(subject, b"huge", headers={"Nats-Msg-Id": uuid.uuid4().hex})
        msg = await dead.next_msg(timeout=20)
        assert msg.data == b"huge"
    finally:
        stop.set()
        await asyncio.wait_for(runner, 10)
        await js.delete_consumer(jetstream.STREAM, durable)
        await nc.close()


async def test_events_arriving_just_after_a_small_batch_come_in_one_fetch(
        stack_env: dict[str, str]) -> None:
    """A caught-up consumer waits `linger_seconds` before its next fetch, so a
    trickle of events is handled in batches, not one fetch (and its pull
    requests) per event."""
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    tag = uuid.uuid4().hex[:8]
    subject, durable = f"twitter.test{tag}.event", f"test-{tag}"
    first_handled = asyncio.Event()
    batches: list[list[bytes]] = []  # events handled side by side, by fetch
    running: list[bytes] = []

    async def handler(_: str, data: bytes, progress: Progress) -> None:
        if data == b"first":
            first_handled.set()
            return
        if not running:
            batches.append([])
        running.append(data)
        batches[-1].append(data)
        await asyncio.sleep(0.05)  # a batch's handlers overlap; fetches never do
        running.remove(data)

    stop = asyncio.Event()
    spec = ConsumerSpec(durable, f"twitter.test{tag}.>", {subject: handler},
                        concurrency=8, linger_seconds=1.0)
    runner = asyncio.create_task(consumer.run(js, spec, stop))

    async def publish(data: bytes) -> None:
        await js.publish(subject, data, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    try:
        await consumer_bound(js, durable)
        await publish(b"first")
        await asyncio.wait_for(first_handled.wait(), 10)
        # The consumer is lingering now; without it, it would be waiting on a
        # fetch that returns with the first event to arrive.
        await asyncio.sleep(0.05)
        for n in range(3):
            await publish(b"%d" % n)

        async def all_handled() -> bool:
            return sum(map(len, batches)) == 3 and not running
        await eventually(all_handled, within=10, every=0.05, what="three events handled")
        assert batches == [[b"0", b"1", b"2"]]
    finally:
        stop.set()
        await asyncio.wait_for(runner, 5)
        await js.delete_consumer(jetstream.STREAM, durable)
        await nc.close()
