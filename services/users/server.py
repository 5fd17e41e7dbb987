"""The users service's gRPC server: its servicers, interceptor and jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.users.v1 import lists_pb2, lists_pb2_grpc, users_pb2, users_pb2_grpc

from services.shared.observability.logging import configure_logging
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.interceptors import ServiceInterceptor, access_policy
from services.shared.rpc.server import App, serve
from services.shared.security.auth import TokenVerifier
from services.users import wiring
from services.users.client.revocations import RevokedSessions
from services.users.lists.servicer import ListServicer
from services.users.servicer import AuthServicer, UserServicer
from services.users.settings import UsersSettings

_SERVICES = [*(users_pb2.DESCRIPTOR.services_by_name[n] for n in ("UserService", "AuthService")),
             lists_pb2.DESCRIPTOR.services_by_name["ListService"]]


async def build(settings: UsersSettings) -> App:
    service = await wiring.build(settings)
    revoked = await RevokedSessions.open(settings.redis_url)

    async def local_key(kid: str) -> object | None:
        return service.keyring.public_key(kid)

    verifier = TokenVerifier(local_key, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience,
                             leeway_seconds=settings.jwt_leeway_seconds)
    interceptor = ServiceInterceptor(
        access=access_policy(_SERVICES), verifier=verifier,
        internal_token=settings.internal_token.get_secret_value(), revoked=revoked,
        idempotency=IdempotencyStore(service.redis))

    def register(server: grpc.aio.Server) -> None:
        users_pb2_grpc.add_UserServiceServicer_to_server(
            UserServicer(service.accounts, service.social, service.blocks, service.pins), server)
        users_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(service.accounts), server)
        lists_pb2_grpc.add_ListServiceServicer_to_server(ListServicer(service.lists), server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=service.required(),
               background={**service.background(), "revoked-sessions": revoked.run})


async def main() -> None:
    settings = UsersSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
