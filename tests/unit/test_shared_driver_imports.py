"""A service loads only the drivers of the stores it uses: the failure policy
(services/shared/resilience/failures.py) imports none, each store adapter
registers its own outage errors. Each entry point is imported in a fresh
interpreter, as its process starts."""

from __future__ import annotations

import asyncio
import json
import os
import sys

DRIVERS = ("cassandra", "psycopg", "psycopg_pool", "redis", "nats", "botocore")

# What each process may load: the drivers of its own stores and of the event bus.
ALLOWED: dict[str, set[str]] = {
    "services.users.server": {"psycopg", "psycopg_pool", "redis", "nats"},
    "services.tweets.server": {"cassandra", "redis", "nats"},
    "services.timeline.server": {"redis", "nats"},
    "services.timeline.worker": {"redis", "nats"},
    "services.search.server": {"psycopg", "psycopg_pool", "redis", "nats"},
    "services.search.worker": {"psycopg", "psycopg_pool", "redis", "nats"},
    "services.media.server": {"cassandra", "redis", "nats", "botocore"},
    "services.messages.server": {"cassandra", "redis", "nats"},
    "services.notifications.server": {"cassandra", "redis", "nats"},
    "services.notifications.worker": {"cassandra", "redis", "nats"},
    "services.ratelimit.server": {"redis"},
}

_LOADED = """
import importlib, json, sys
for name in sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps([d for d in json.loads(sys.argv[1]) if d in sys.modules]))
"""


_CPUS = asyncio.Semaphore(os.cpu_count() or 2)


async def loaded_drivers(*modules: str, code: str = _LOADED) -> set[str]:
    async with _CPUS:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, json.dumps(DRIVERS), *modules,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return set(json.loads(out))


async def test_each_service_loads_only_the_drivers_of_its_stores() -> None:
    found = await asyncio.gather(*(loaded_drivers(entry) for entry in ALLOWED))
    extra = {entry: sorted(got - ALLOWED[entry])
             for entry, got in zip(ALLOWED, found, strict=True) if got - ALLOWED[entry]}
    assert extra == {}, f"drivers loaded by services that do not use them: {extra}"
    ratelimit = dict(zip(ALLOWED, found, strict=True))["services.ratelimit.server"]
    assert "cassandra" not in ratelimit
    assert ratelimit == {"redis"}


async def test_the_failure_policy_and_the_server_import_no_store_driver() -> None:
    assert await loaded_drivers("services.shared.resilience.failures",
                                "services.shared.rpc.server") == set()


async def test_a_driver_used_directly_is_classified_without_its_adapter() -> None:
    """A tool or test that uses redis without the adapter still gets the policy:
    the first redis exception loads redis's registration."""
    code = """
import sys
import redis.exceptions
from services.shared import errors
from services.shared.resilience import failures
assert "services.shared.stores.redis_failures" not in sys.modules
assert isinstance(failures.outage(redis.exceptions.ConnectionError("x")), errors.Unavailable)
assert isinstance(failures.outage(redis.exceptions.TimeoutError("x")), errors.DeadlineExceeded)
assert failures.outage(redis.exceptions.ResponseError("WRONGTYPE")) is None
assert "services.shared.stores.redis_failures" in sys.modules
print("[]")
"""
    assert await loaded_drivers(code=code) == set()
