"""A circuit breaker for calls to a cache or store that may be down.

Closed: calls go through; `failures` consecutive errors open it. Open: calls are
refused at once (the caller falls back) for `reset_seconds`. Then one probe
call is let through (half-open): success closes the breaker, failure opens it
for another period. A dead Redis therefore costs one failed probe per period,
not one timeout per request.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from enum import Enum

from prometheus_client import Gauge

from services.shared import failures
from services.shared.errors import Unavailable

BREAKER_OPEN = Gauge("circuit_breaker_open", "1 while the breaker refuses calls.", ["name"])


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int = 3, reset_seconds: float = 1.0) -> None:
        self.name = name
        self._threshold = failures
        self._reset = reset_seconds
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        BREAKER_OPEN.labels(name).set(0)

    @property
    def state(self) -> State:
        if self._failures < self._threshold:
            return State.CLOSED
        if time.monotonic() - self._opened_at >= self._reset:
            return State.HALF_OPEN
        return State.OPEN

    def allow(self) -> bool:
        """Whether a call may go through now (a half-open breaker lets one probe by)."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._probing = False
        BREAKER_OPEN.labels(self.name).set(0)

    def abandoned(self) -> None:
        """A call it let through ended with no verdict (cancelled): a probe
        must not hold the half-open breaker shut for good."""
        self._probing = False

    def failed(self) -> None:
        self._failures += 1
        self._probing = False
        if self._failures >= self._threshold:
            self._opened_at = time.monotonic()
            BREAKER_OPEN.labels(self.name).set(1)


@contextlib.asynccontextmanager
async def guarded(breaker: CircuitBreaker, what: str) -> AsyncIterator[None]:
    """Runs the block unless the breaker is open (then Unavailable at once).
    Only a dependency failure (services/shared/failures.py) counts against the
    breaker; any answer, even an error of ours, shows the dependency is up."""
    if not breaker.allow():
        raise Unavailable(f"{what} is unavailable; try again shortly")
    try:
        yield
    except Exception as exc:
        if failures.is_outage_error(exc):
            breaker.failed()
        else:
            breaker.succeeded()
        raise
    except BaseException:  # cancelled: the dependency said nothing either way
        breaker.abandoned()
        raise
    breaker.succeeded()
