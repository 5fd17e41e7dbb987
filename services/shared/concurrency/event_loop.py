"""The event loop every service and worker process runs on.

uvloop (libuv's loop) by default: the services spend much of each call in the
loop itself (callbacks, socket writes to Redis and peers, timers), which
uvloop does in C (docs/CAPACITY.md has the before and after).
EVENT_LOOP=asyncio selects the standard library's loop instead, for an A/B
measurement or if a library ever misbehaves on uvloop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}


def loop_factory(name: str | None = None) -> Callable[[], asyncio.AbstractEventLoop]:
    """The loop named by `name`, else by EVENT_LOOP (default uvloop)."""
    name = name or os.environ.get("EVENT_LOOP", "") or "uvloop"
    try:
        return LOOPS[name]
    except KeyError:
        raise SystemExit(f"EVENT_LOOP must be one of {', '.join(LOOPS)}, not {name!r}") from None


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs `main()` to completion on the configured loop (asyncio.run's
    contract: a fresh loop, async generators and executors shut down)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main())
