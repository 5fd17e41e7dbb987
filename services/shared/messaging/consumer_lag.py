"""JetStream consumer lag and dead-letter depth as Prometheus gauges.

Lag is a property of a durable consumer, shared by every worker replica, and
it matters most when no worker is consuming: so it is read from the server by
a process that is not the consumer (the timeline service runs this job for
every durable of the stream), never by the worker, which could not report its
own lag while stalled or cut off. Every replica reports the same values: alert
on `max by (consumer)`.
"""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from prometheus_client import Gauge

from services.shared.concurrency.background import Job
from services.shared.messaging.events import STREAM
from services.shared.observability.logging import get_logger

log = get_logger(__name__)

PENDING = Gauge("jetstream_consumer_pending",
                "Messages in the stream the durable consumer has not been delivered yet.",
                ["consumer"])
ACK_PENDING = Gauge("jetstream_consumer_ack_pending",
                    "Messages delivered to the durable consumer and not acknowledged yet.",
                    ["consumer"])
REDELIVERED = Gauge("jetstream_consumer_redelivered",
                    "Messages delivered more than once and still unacknowledged.", ["consumer"])
DLQ_DEPTH = Gauge("jetstream_dlq_messages",
                  "Messages held on a dead-letter subject (twitter.dlq.<consumer>).",
                  ["consumer"])
DLQ_PREFIX = "twitter.dlq."


async def sample(js: JetStreamContext) -> None:
    """One reading of every durable consumer of the stream and of the DLQ subjects."""
    infos = await js.consumers_info(STREAM)
    state = (await js.stream_info(STREAM, subjects_filter=f"{DLQ_PREFIX}>")).state
    # Replaced as a whole (no await from here on), so a deleted consumer's
    # series goes rather than keeping its last value.
    for gauge in (PENDING, ACK_PENDING, REDELIVERED, DLQ_DEPTH):
        gauge.clear()
    for info in infos:
        PENDING.labels(info.name).set(info.num_pending or 0)
        ACK_PENDING.labels(info.name).set(info.num_ack_pending or 0)
        REDELIVERED.labels(info.name).set(info.num_redelivered or 0)
        DLQ_DEPTH.labels(info.name).set(0)  # every consumer has a series, so "> 0" can fire
    for subject, count in (state.subjects or {}).items():
        DLQ_DEPTH.labels(subject.removeprefix(DLQ_PREFIX)).set(count)


def watch(js: JetStreamContext, every_seconds: float = 2.0) -> Job:
    """A background job (services/shared/concurrency/background.py) sampling every few seconds."""

    async def job() -> None:
        failed = False
        while True:
            try:
                await sample(js)
                failed = False
            except Exception as exc:  # NATS down: keep the last values, say so once
                if not failed:
                    log.warning("consumer lag unavailable", error=repr(exc)[:300])
                failed = True
            await asyncio.sleep(every_seconds)

    return job
