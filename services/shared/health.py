"""Health that tells the truth: a process whose required store cannot be
reached reports NOT_SERVING, so the edge's active health checks (edge/render.py,
every second) take it out of rotation, and SERVING again as soon as the store
answers, which brings it back.

A store's breaker (services/shared/breaker.py) only learns that the store is
back from a call it lets through, and a process out of rotation gets no calls:
the watcher is that call. Every `interval` it pings each required store through
the store's breaker, so a success closes the breaker (the process serves again
at once) and a failure counts against it (requests fail fast meanwhile). Caches
with a fallback are not required: a process serving from the store is healthy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from grpc_health.v1 import health, health_pb2
from prometheus_client import Gauge

from services.shared.breaker import CircuitBreaker
from services.shared.logging import get_logger

log = get_logger(__name__)

SERVING = Gauge("health_serving", "1 while the process reports SERVING.")
INTERVAL_SECONDS = 0.5
PING_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class Required:
    """A store the process cannot serve without, and how to ping it (through
    the store's breaker, as every call to it goes)."""

    name: str
    breaker: CircuitBreaker
    ping: Callable[[], Awaitable[object]]


async def reachable(store: Required) -> bool:
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
    while True:
        results = await asyncio.gather(*(reachable(r) for r in required))
        now = all(results)
        if now != serving:
            down = [r.name for r, ok in zip(required, results, strict=True) if not ok]
            log.warning("not serving: a required store is unreachable", stores=down) \
                if not now else log.info("serving")
            status = health_pb2.HealthCheckResponse.SERVING if now \
                else health_pb2.HealthCheckResponse.NOT_SERVING
            for name in ("", *names):
                await servicer.set(name, status)
            SERVING.set(1 if now else 0)
            serving = now
        await asyncio.sleep(interval)
