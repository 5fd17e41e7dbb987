"""Deadline-bounded polling, the one retry loop every readiness check goes through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_not_exception_type, stop_after_delay, wait_fixed

T = TypeVar("T")


class GiveUpError(Exception):
    """Raised inside a polled function when waiting longer cannot help (e.g. a crash)."""


def until(fn: Callable[[], T], timeout: float, interval: float = 0.5) -> T:
    """Call fn until it returns without raising; after `timeout` seconds, or on GiveUpError,
    re-raise its last exception."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_not_exception_type(GiveUpError),
        reraise=True,
    )
    return retrying(fn)
