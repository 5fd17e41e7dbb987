"""Durable JetStream pull consumers with explicit acks, bounded redelivery and
a dead-letter subject.

Any number of worker replicas bind the same durable consumer and share its
messages. A message is acked only after its handler finished, so a worker
killed mid-message leaves it unacked and JetStream redelivers it after
`ack_wait` (handlers must be idempotent). Long handlers call `progress()` to
extend that deadline. After `max_deliver` failed attempts the message goes to
`twitter.dlq.<durable>` (with the original subject and the error in headers)
and is acked, so one poison message cannot block the rest. A failure that
is a dependency outage (services/shared/resilience/failures.py) is not the event's fault:
the event is held and retried until the dependency is back, spending none of
its delivery budget, so an outage longer than the redelivery backoff sends
nothing to the dead-letter subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar, overload

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter, Gauge

from services.shared.contracts import subject, subject_filter
from services.shared.messaging.events import STREAM
from services.shared.observability import telemetry
from services.shared.observability.logging import get_logger
from services.shared.resilience import failures

log = get_logger(__name__)

Progress = Callable[[], Awaitable[None]]
# What the runner calls: the raw subject and data of one delivery.
Handler = Callable[[str, bytes, Progress], Awaitable[None]]
M = TypeVar("M", bound=Message)

HANDLED = Counter("events_handled_total", "Events handled, by consumer and outcome.",
                  ["consumer", "outcome"])
LOOP_AGE = Gauge("consumer_loop_age_seconds",
                 "Seconds since the consumer's fetch loop last came round (fetched and "
                 "handled a batch, or found nothing while connected).", ["consumer"])
READY = Gauge("consumer_ready", "1 while the worker's consumers are healthy (its readiness).")


class Health:
    """A worker's readiness, from its consumers rather than from its process
    being up: connected to NATS, and every consumer's fetch loop came round
    within `stall_seconds` (a handler stuck on a batch, or a loop that only
    meets errors, stops it coming round)."""

    def __init__(self, connected: Callable[[], bool], stall_seconds: float = 30.0) -> None:
        self.connected = connected
        self._stall = stall_seconds
        self._beats: dict[str, float] = {}
        READY.set_function(lambda: float(self.ready()[0]))

    def beat(self, durable: str) -> None:
        if durable not in self._beats:
            LOOP_AGE.labels(durable).set_function(lambda: self.age(durable))
        self._beats[durable] = time.monotonic()

    def age(self, durable: str) -> float:
        return time.monotonic() - self._beats.get(durable, 0.0)

    def ready(self) -> tuple[bool, str]:
        if not self.connected():
            return False, "not connected to NATS"
        if not self._beats:
            return False, "no consumer started"
        stalled = sorted(d for d in self._beats if self.age(d) > self._stall)
        if stalled:
            return False, f"stalled: {', '.join(stalled)}"
        return True, f"consuming: {', '.join(sorted(self._beats))}"


class Handlers(Mapping[str, Handler]):
    """The one way a worker says what it handles:
    `Handlers().on(TweetCreated, fanout.tweet_created, progress=True)`. The
    subject comes from the event's contract and the data is decoded to the
    event's type here, once, so a handler takes the message itself (and the
    progress signal, when it asks for it: long handlers extend their ack
    deadline with it)."""

    def __init__(self) -> None:
        self._by_subject: dict[str, Handler] = {}

    @overload
    def on(self, event: type[M], handle: Callable[[M], Awaitable[object]]) -> Handlers: ...

    @overload
    def on(self, event: type[M], handle: Callable[[M, Progress], Awaitable[object]], *,
           progress: Literal[True]) -> Handlers: ...

    def on(self, event: type[M], handle: Callable[..., Awaitable[object]], *,
           progress: bool = False) -> Handlers:
        key = subject(event)
        if key in self._by_subject:  # two handlers of one event: a wiring mistake
            raise ValueError(f"{key}: a handler is registered already")

        async def run(_: str, data: bytes, signal_progress: Progress) -> None:
            decoded = event.FromString(data)
            await (handle(decoded, signal_progress) if progress else handle(decoded))

        self._by_subject[key] = run
        return self

    @property
    def filter_subject(self) -> str:
        """The narrowest filter covering every registered subject."""
        if not self._by_subject:
            raise ValueError("no handler registered")
        return subject_filter(self._by_subject)

    def __getitem__(self, key: str) -> Handler:
        return self._by_subject[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_subject)

    def __len__(self) -> int:
        return len(self._by_subject)


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    filter_subject: str
    # Subject to handler; subjects without one are acked and skipped.
    handlers: Mapping[str, Handler]
    ack_wait_seconds: float = 30.0
    max_deliver: int = 5
    concurrency: int = 8
    # Redelivery delay after a failure: doubles per attempt, at most 30 s.
    retry_base_seconds: float = 1.0
    # Retry delay while a dependency is down: doubles per attempt up to the max.
    outage_retry_seconds: float = 0.25
    outage_retry_max_seconds: float = 5.0
    # How long one event may be held through an outage. Past it the failure
    # counts as the event's own: an event that times out every time (its own
    # fault, not the store's) must not stall its consumer for good.
    outage_hold_seconds: float = 600.0
    # A new consumer starts with the stream's retained history (an index
    # backfilling itself) rather than only what arrives from now on.
    from_start: bool = False
    # After a batch smaller than `concurrency`, the next fetch waits this long,
    # so events arriving meanwhile come in one batch: each fetch costs pull
    # requests and status replies of its own, in the worker and in NATS.
    linger_seconds: float = 0.02

    def backoff(self, attempt: int) -> float:
        return float(min(30.0, self.retry_base_seconds * 2 ** (attempt - 1)))

    def outage_delay(self, outages: int) -> float:
        """With jitter, so events held together do not retry in step."""
        delay = min(self.outage_retry_max_seconds,
                    self.outage_retry_seconds * 2 ** min(outages - 1, 10))
        return float(delay * random.uniform(0.8, 1.2))  # noqa: S311 - not for secrets


async def run(js: JetStreamContext, spec: ConsumerSpec, stop: asyncio.Event,
              health: Health | None = None) -> None:
    config = ConsumerConfig(
        durable_name=spec.durable, filter_subject=spec.filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL if spec.from_start else DeliverPolicy.NEW,
        ack_wait=spec.ack_wait_seconds, max_deliver=spec.max_deliver,
        max_ack_pending=spec.concurrency * 64,
    )
    sub = await js.pull_subscribe(spec.filter_subject, durable=spec.durable, stream=STREAM,
                                  config=config)
    log.info("consuming", consumer=spec.durable, subject=spec.filter_subject)
    if health:
        health.beat(spec.durable)
    while not stop.is_set():
        try:
            batch = await sub.fetch(spec.concurrency, timeout=1.0)
        except (NatsTimeout, TimeoutError):
            # Nothing to do for now (while reconnecting, a fetch times out too).
            if health and health.connected():
                health.beat(spec.durable)
            continue
        except Exception:
            log.exception("fetch failed; retrying", consumer=spec.durable)
            await asyncio.sleep(1.0)
            continue
        await asyncio.gather(*(_handle(js, spec, msg, stop) for msg in batch))
        if health:
            health.beat(spec.durable)
        if len(batch) < spec.concurrency and not stop.is_set():
            await asyncio.sleep(spec.linger_seconds)


async def _handle(js: JetStreamContext, spec: ConsumerSpec, msg: Msg,
                  stop: asyncio.Event) -> None:
    handler = spec.handlers.get(msg.subject)
    if handler is None:
        await msg.ack()
        return

    async def progress() -> None:
        await msg.in_progress()

    attempt = msg.metadata.num_delivered or 1
    with telemetry.consumer_span(f"{spec.durable} {msg.subject}", msg.headers):
        outages, held_since = 0, time.monotonic()
        while True:
            try:
                await handler(msg.subject, msg.data, progress)
                break
            except Exception as exc:
                # A store or peer being down is not the event's fault: it keeps
                # its delivery budget (max_deliver is for events that fail on
                # their own) and is held, for `outage_hold_seconds` at most.
                holding = time.monotonic() - held_since < spec.outage_hold_seconds
                if not (holding and failures.is_outage_error(exc)):
                    await _failed(js, spec, msg, exc, attempt)
                    return
                if stop.is_set():  # shutting down: hand it back untouched
                    with contextlib.suppress(Exception):
                        await msg.nak()
                    return
                outages += 1
                await _hold(spec, msg, exc, outages)
    await msg.ack()
    HANDLED.labels(spec.durable, "ok").inc()


async def _hold(spec: ConsumerSpec, msg: Msg, exc: Exception, outages: int) -> None:
    """Keeps the event ours (past ack_wait) and waits before the next try. The
    batch in hand holds the next fetch, so the whole consumer pauses."""
    HANDLED.labels(spec.durable, "outage_retry").inc()
    if outages == 1:
        log.warning("dependency down; holding event", consumer=spec.durable,
                    subject=msg.subject, error=repr(exc)[:300])
    with contextlib.suppress(Exception):
        await msg.in_progress()
    await asyncio.sleep(spec.outage_delay(outages))


async def _failed(js: JetStreamContext, spec: ConsumerSpec, msg: Msg, exc: Exception,
                  attempt: int) -> None:
    if attempt >= spec.max_deliver:
        await _dead_letter(js, spec, msg, exc)
        HANDLED.labels(spec.durable, "dead_letter").inc()
        return
    log.warning("event failed; will retry", consumer=spec.durable,
                subject=msg.subject, attempt=attempt, error=repr(exc))
    HANDLED.labels(spec.durable, "retry").inc()
    with contextlib.suppress(Exception):
        await msg.nak(delay=spec.backoff(attempt))


async def _dead_letter(js: JetStreamContext, spec: ConsumerSpec, msg: Msg,
                       exc: Exception) -> None:
    log.error("event dead-lettered", consumer=spec.durable, subject=msg.subject,
              error=repr(exc))
    headers = dict(msg.headers or {})
    headers.pop("Nats-Msg-Id", None)
    headers |= {"Original-Subject": msg.subject, "Error": repr(exc)[:500]}
    await js.publish(f"twitter.dlq.{spec.durable}", msg.data, headers=headers)
    await msg.ack()


async def serve_consumers(js: JetStreamContext, specs: list[ConsumerSpec],
                          health: Health | None = None) -> None:
    """Runs consumers until SIGTERM/SIGINT; then they stop fetching and finish
    the batch in hand (unfinished messages are redelivered elsewhere)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.gather(*(run(js, spec, stop, health) for spec in specs))
