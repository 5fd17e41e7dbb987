"""The ratelimit service's composition root: the rules and the Redis window
they count in, built from settings, for the server and tests alike."""

from __future__ import annotations

from dataclasses import dataclass

from services.ratelimit.limiter import Limiter
from services.ratelimit.rules import Rules, load
from services.ratelimit.settings import RatelimitSettings
from services.ratelimit.window import SlidingWindow
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient


@dataclass(frozen=True)
class Service:
    limiter: Limiter
    rules: Rules
    window: SlidingWindow
    redis: RedisClient

    async def close(self) -> None:
        await self.redis.aclose()


def build(settings: RatelimitSettings) -> Service:
    rules = load(settings.ratelimit_config, settings.ratelimit_environment)
    redis = redis_client.connect(settings.redis_url, socket_timeout=settings.redis_timeout_seconds)
    window = SlidingWindow(redis)
    return Service(Limiter(rules, window), rules, window, redis)
