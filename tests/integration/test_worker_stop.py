"""Workers stop within 5 s of SIGTERM (issue 32): they finish or hand back the
batch in hand and close their NATS connection without nats-py's drain, which
waited out its 30 s timeout on pull subscriptions until supervisord killed it."""

from __future__ import annotations

import time

import pytest

from tests.support.stack_control import control
from tests.support.wait import eventually


@pytest.mark.parametrize("worker", ["timeline-worker", "notifications-worker"])
async def test_a_worker_stops_within_five_seconds_of_sigterm(worker: str) -> None:
    if "RUNNING" not in await control("status", worker):
        pytest.skip(f"{worker} is not running in this stack")
    started = time.monotonic()
    try:
        # supervisorctl returns once the process exited (SIGTERM, then SIGKILL
        # after the program's stopwaitsecs, 30 s).
        assert "stopped" in await control("stop", worker)
        took = time.monotonic() - started
    finally:
        await control("start", worker)
        await eventually(lambda: running(worker), within=60, every=0.5,
                         what=f"{worker} running again")
    assert took < 5.0, f"{worker} took {took:.1f} s to stop"


async def running(worker: str) -> bool:
    return "RUNNING" in await control("status", worker)
