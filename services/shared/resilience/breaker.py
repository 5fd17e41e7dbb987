"""A circuit breaker for calls to a cache or store that may be down.

Closed: calls go through; `failures` consecutive errors open it. Open: calls are
refused at once (the caller falls back) for `reset_seconds`. Then one probe
call is let through (half-open): success closes the breaker, failure opens it
for another period. A dead Redis therefore costs one failed probe per period,
not one timeout per request.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from enum import Enum
from types import TracebackType

from prometheus_client import Gauge

from services.shared.errors import Unavailable
from services.shared.resilience import failures

BREAKER_OPEN = Gauge("circuit_breaker_open", "1 while the breaker refuses calls.", ["name"])


class _Dispatched:
    """Whether the current call has sent anything to a store or peer yet."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


# A mutable holder, so tasks a handler spawns (gather) mark the call they serve.
_DISPATCHED: contextvars.ContextVar[_Dispatched | None] = contextvars.ContextVar(
    "dispatched", default=None)


def begin_call() -> None:
    """Starts tracking a call: a breaker's refusal before anything was sent is
    marked `refused` (no side effect), so the edge may retry it elsewhere."""
    _DISPATCHED.set(_Dispatched())


def _refused_untouched() -> bool:
    dispatched = _DISPATCHED.get()
    return dispatched is not None and not dispatched.sent


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, name: str, *, failures: int = 3, reset_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock  # monotonic seconds; tests pass a fake one
        self._threshold = failures
        self._reset = reset_seconds
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.last_success = 0.0  # monotonic time of the last call that reached the store
        BREAKER_OPEN.labels(name).set(0)

    @property
    def state(self) -> State:
        if self._failures < self._threshold:
            return State.CLOSED
        if self._clock() - self._opened_at >= self._reset:
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
        self.last_success = self._clock()
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
            self._opened_at = self._clock()
            BREAKER_OPEN.labels(self.name).set(1)


class guarded:  # noqa: N801 - used like a function: `async with guarded(...)`
    """Runs the block unless the breaker is open (then Unavailable at once).
    Only a dependency failure (services/shared/resilience/failures.py) counts against the
    breaker; any answer, even an error of ours, shows the dependency is up.
    A class, not a generator context manager: it wraps every CQL query."""

    __slots__ = ("_breaker", "_what")

    def __init__(self, breaker: CircuitBreaker, what: str) -> None:
        self._breaker, self._what = breaker, what

    async def __aenter__(self) -> None:
        if not self._breaker.allow():
            raise Unavailable(f"{self._what} is unavailable; try again shortly",
                              refused=_refused_untouched())
        dispatched = _DISPATCHED.get()
        if dispatched is not None:
            dispatched.sent = True

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        _tb: TracebackType | None) -> None:
        if exc is None:
            self._breaker.succeeded()
        elif not isinstance(exc, Exception):  # cancelled: no verdict either way
            self._breaker.abandoned()
        elif failures.is_outage_error(exc):
            self._breaker.failed()
        else:
            self._breaker.succeeded()
