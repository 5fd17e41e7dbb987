"""Redis for the unit layer: fakeredis (pinned in pyproject's dev group) with
Lua through lupa, so the services' scripts run as written, on an in-memory
server. Its async client is a `redis.asyncio.Redis`, i.e. the single-Redis
flavour of `services.shared.stores.redis_client.RedisClient`, and every store takes
it where it takes a real client.

Several clients of one `FakeRedisServer` share its data, as processes share a
real Redis (a tweet cache's hot tier is per client, its warm tier shared).
`down()` makes every command fail with redis-py's ConnectionError (one of
REDIS_ERRORS), for breakers and fallbacks; `up()` brings it back with its data.

What it does not do (tests that need these stay in tests/integration/):
- Redis 7's script shebang (`#!lua flags=...`): fakeredis 2.40 compiles the
  line as Lua and fails ("unexpected symbol near '#'"). The timeline's
  per-node fanout script is such a script; under this fake it fails and
  TimelineStore falls back to its per-slot script (the same body), which runs.
- A cluster: slots, MOVED/ASK, resharding, node groups.
- Expiry on a fake clock: keys expire on fakeredis's own (real) clock, so unit
  tests assert TTLs as set (PTTL) and delete a key to stand for its expiry.
"""

from __future__ import annotations

import fakeredis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


class FakeRedisServer:
    def __init__(self) -> None:
        self._server = fakeredis.FakeServer()

    def client(self) -> Redis:
        """A new connection to this server (bytes replies, as services use)."""
        # No retries: redis-py's default backs off for seconds before it
        # reports an outage, which a fake server down on purpose need not wait.
        return fakeredis.FakeAsyncRedis(server=self._server, retry=Retry(NoBackoff(), 0))

    def down(self) -> None:
        self._server.connected = False

    def up(self) -> None:
        self._server.connected = True


def fake_redis() -> Redis:
    """A client of a fresh, private server."""
    return FakeRedisServer().client()
