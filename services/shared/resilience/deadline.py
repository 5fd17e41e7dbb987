"""The caller's deadline, carried from the edge through every hop.

The server interceptor records when the current call must be answered by (the
gRPC deadline the caller sent, else the edge's expected request timeout); peer
calls and store queries take no longer than what is left, so a retry never
outlives its caller and a slow dependency cannot hold work nobody waits for.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar

from services.shared.errors import DeadlineExceeded

EDGE_TIMEOUT_HEADER = "x-envoy-expected-rq-timeout-ms"
# Left for our own answer to travel back: a peer given all that remains would
# time out just as our caller gives up, and the caller would learn nothing.
MARGIN_SECONDS = 0.05

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def begin(time_remaining: float | None, metadata: Mapping[str, str]) -> None:
    """Records the current call's deadline (monotonic), if it has one."""
    if time_remaining is None:
        header = metadata.get(EDGE_TIMEOUT_HEADER, "")
        time_remaining = int(header) / 1000 if header.isdigit() and int(header) > 0 else None
    _deadline.set(None if time_remaining is None else time.monotonic() + time_remaining)


def remaining() -> float | None:
    """Seconds left for the current call (None when it has no deadline)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def bounded(timeout: float | None) -> float | None:
    """`timeout`, shortened to what the current call has left; DeadlineExceeded
    when nothing is left, so no work starts that nobody waits for."""
    left = remaining()
    if left is None:
        return timeout
    left -= MARGIN_SECONDS
    if left <= 0:
        raise DeadlineExceeded("the request's deadline passed")
    return left if timeout is None else min(timeout, left)
