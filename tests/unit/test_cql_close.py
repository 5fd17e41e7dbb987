"""Cql.close (services/shared/stores/cassandra.py) under a bounded stop: a
worker waits 1.5 s for its clients to close, and a driver shutdown that takes
longer must not hold the process's exit (issue 32's 5 s) once it stops waiting.
No timing: the stand-in's shutdown blocks until the test releases it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from services.shared.stores.cassandra import Cql


class SlowCluster:
    """Stands in for the driver's Cluster: its shutdown blocks until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.shut = threading.Event()

    def shutdown(self) -> None:
        self.release.wait(10)
        self.shut.set()


def cql(cluster: Any) -> Cql:
    return Cql(cluster, session=None)


def test_a_stop_that_gives_up_on_close_is_not_held_by_the_shutdown() -> None:
    cluster = SlowCluster()

    async def bounded_stop() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cql(cluster).close(), 0.1)

    asyncio.run(bounded_stop())  # closes the loop, as a worker's exit does
    # The loop closed while the shutdown was still blocked: it did not wait.
    assert not cluster.shut.is_set(), "the loop's shutdown waited for the driver's"
    cluster.release.set()
    assert cluster.shut.wait(5)  # the shutdown itself still ran to its end


def test_close_waits_for_the_shutdown_and_raises_its_error() -> None:
    class Failing:
        def shutdown(self) -> None:
            raise RuntimeError("boom")

    cluster = SlowCluster()
    cluster.release.set()

    async def close_both() -> str:
        await cql(cluster).close()
        assert cluster.shut.is_set()
        try:
            await cql(Failing()).close()
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    assert asyncio.run(close_both()) == "boom"
