"""Health that tells the truth: a process whose required store cannot be
reached reports NOT_SERVING, so the edge's active health checks (edge/render.py,
every second) take it out of rotation, and SERVING again as soon as the store
answers, which brings it back.

A store's breaker (services/shared/resilience/breaker.py) only learns that the store is
back from a call it lets through, and a process out of rotation gets no calls:
the watcher is that call. Every `interval` it pings each required store through
the store's breaker, so a success closes the breaker (the process serves again
at once) and a failure counts against it (requests fail fast meanwhile). A
store a request reached within the last 5 s needs no ping: under load a ping
would queue behind the requests (a saturated pool) and time out although the
store is fine. A closed breaker takes three failed pings in a row to report
NOT_SERVING (a slow answer on a busy machine is not an outage); an open one
(requests failing) is NOT_SERVING at once. Caches with a fallback are not required: a process
serving from the store is healthy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from grpc_health.v1 import health, health_pb2
from prometheus_client import Gauge

from services.shared.observability.logging import get_logger
from services.shared.resilience.breaker import CircuitBreaker, State

log = get_logger(__name__)

SERVING = Gauge("health_serving", "1 while the process reports SERVING.")
INTERVAL_SECONDS = 0.5
PING_TIMEOUT_SECONDS = 2.0
# A request that reached the store this recently shows it is up: no ping.
RECENT_SECONDS = 5.0
# Failed pings in a row that make a closed breaker's store count as down.
MISSES_DOWN = 3


@dataclass(frozen=True)
class Required:
    """A store the process cannot serve without, and how to ping it (through
    the store's breaker, as every call to it goes)."""

    name: str
    breaker: CircuitBreaker
    ping: Callable[[], Awaitable[object]]


async def reachable(store: Required) -> bool:
    if store.breaker.state is State.CLOSED \
            and time.monotonic() - store.breaker.last_success < RECENT_SECONDS:
        return True
    try:
        await asyncio.wait_for(store.ping(), PING_TIMEOUT_SECONDS)
    except Exception:
        return False
    return True


async def watch(servicer: health.aio.HealthServicer, names: Sequence[str],
                required: Sequence[Required], interval: float = INTERVAL_SECONDS) -> None:
    """Keeps the health status of `names` (and the server's "") in step with
    the required stores, until cancelled (the drain sets NOT_SERVING itself)."""
    serving: bool | None = None
    missed = [0] * len(required)
    while True:
        results = await asyncio.gather(*(reachable(r) for r in required))
        for n, ok in enumerate(results):
            missed[n] = 0 if ok else missed[n] + 1
        now = all(m == 0 or (m < MISSES_DOWN and r.breaker.state is State.CLOSED)
                  for r, m in zip(required, missed, strict=True))
        if now != serving:
            down = [r.name for r, m in zip(required, missed, strict=True) if m]
            log.warning("not serving: a required store is unreachable", stores=down) \
                if not now else log.info("serving")
            status = health_pb2.HealthCheckResponse.SERVING if now \
                else health_pb2.HealthCheckResponse.NOT_SERVING
            for name in ("", *names):
                await servicer.set(name, status)
            SERVING.set(1 if now else 0)
            serving = now
        await asyncio.sleep(interval)
