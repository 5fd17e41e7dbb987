"""Wiring of the ratelimit service: settings, Redis, rules, servicer.

Availability: when this service or Redis is down the edge lets requests through
(Envoy's ratelimit filter with failure_mode_deny: false and a short timeout;
see edge/render.py). Rate limits protect capacity and slow abuse; refusing
every request because the limiter is down would turn a limiter outage into a
full outage. Login stays protected without it: the users service locks an
account after repeated failed logins on its own (services/users/accounts.py).
Redis calls time out after `redis_timeout_seconds`, and a failure answers
UNAVAILABLE, which Envoy treats as "allow". A process whose Redis is down
reports NOT_SERVING (services/shared/resilience/health.py), so while another process can
still count, the edge asks that one.
"""

from __future__ import annotations

from pathlib import Path

import grpc
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # type: ignore[import-untyped]

from services.ratelimit.limiter import Limiter
from services.ratelimit.rules import load
from services.ratelimit.servicer import RateLimitServicer
from services.ratelimit.window import SlidingWindow
from services.shared.config import AuthSettings, RedisSettings, ServerSettings
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.ports import SERVICE_PORTS
from services.shared.rpc.interceptors import ServiceInterceptor, access_policy
from services.shared.rpc.server import App, serve
from services.shared.stores import redis_client

log = get_logger(__name__)

SERVICE = rls_pb2.DESCRIPTOR.services_by_name["RateLimitService"]
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "edge" / "ratelimits.yaml"


class RatelimitSettings(ServerSettings, RedisSettings, AuthSettings):
    service_name: str = "ratelimit"
    grpc_port: int = SERVICE_PORTS["ratelimit"]
    # The limits file and which of its environments applies.
    ratelimit_config: Path = DEFAULT_CONFIG
    ratelimit_environment: str = "local"
    # Redis must answer well within the edge's timeout for the whole check.
    redis_timeout_seconds: float = 0.1


def build(settings: RatelimitSettings) -> App:
    rules = load(settings.ratelimit_config, settings.ratelimit_environment)
    redis = redis_client.connect(settings.redis_url, socket_timeout=settings.redis_timeout_seconds)
    window = SlidingWindow(redis)
    limiter = Limiter(rules, window)
    # Only the edge calls it, presenting the internal token (as other services do).
    interceptor = ServiceInterceptor(
        access=access_policy([SERVICE], foreign=True), verifier=None,
        internal_token=settings.internal_token.get_secret_value())

    def register(server: grpc.aio.Server) -> None:
        rls_pb2_grpc.add_RateLimitServiceServicer_to_server(RateLimitServicer(limiter), server)

    async def stop() -> None:
        await redis.aclose()

    log.info("rules loaded", environment=settings.ratelimit_environment,
             config=str(settings.ratelimit_config), exempt=sorted(map(list, rules.exempt)))
    return App(service_names=[SERVICE.full_name], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[window.required()])


async def main() -> None:
    settings = RatelimitSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(build(settings), settings)
