"""The ratelimit service's gRPC server over what wiring.py builds.

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

import grpc
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # type: ignore[import-untyped]

from services.ratelimit import wiring
from services.ratelimit.servicer import RateLimitServicer
from services.ratelimit.settings import RatelimitSettings
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.rpc.interceptors import ServiceInterceptor, access_policy
from services.shared.rpc.server import App, serve

log = get_logger(__name__)

SERVICE = rls_pb2.DESCRIPTOR.services_by_name["RateLimitService"]


def build(settings: RatelimitSettings) -> App:
    service = wiring.build(settings)
    # Only the edge calls it, presenting the internal token (as other services do).
    interceptor = ServiceInterceptor(
        access=access_policy([SERVICE], foreign=True), verifier=None,
        internal_token=settings.internal_token.get_secret_value())

    def register(server: grpc.aio.Server) -> None:
        rls_pb2_grpc.add_RateLimitServiceServicer_to_server(
            RateLimitServicer(service.limiter), server)

    log.info("rules loaded", environment=settings.ratelimit_environment,
             config=str(settings.ratelimit_config), exempt=sorted(map(list, service.rules.exempt)))
    return App(service_names=[SERVICE.full_name], register=register,
               interceptors=[interceptor], on_stop=[service.close],
               required=[service.window.required()])


async def main() -> None:
    settings = RatelimitSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(build(settings), settings)
