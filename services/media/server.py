"""Wiring of the media service: settings, stores, domain objects, servicer."""

from __future__ import annotations

from datetime import timedelta

import grpc
from twitter.media.v1 import media_pb2, media_pb2_grpc

from services.media.domain import STAGING_PREFIX
from services.media.library import DownloadUrls, MediaLibrary, Sweeper
from services.media.repository import MediaStore
from services.media.servicer import MediaServicer
from services.media.storage import ObjectStore
from services.shared.config import (
    AuthSettings,
    PeerAddresses,
    RedisSettings,
    S3Settings,
    ScyllaSettings,
    ServerSettings,
)
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.ports import SERVICE_PORTS
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.users.client.revocations import RevokedSessions

log = get_logger(__name__)

_SERVICES = [media_pb2.DESCRIPTOR.services_by_name["MediaService"]]


class MediaSettings(ServerSettings, ScyllaSettings, S3Settings, AuthSettings, PeerAddresses,
                    RedisSettings):
    service_name: str = "media"
    grpc_port: int = SERVICE_PORTS["media"]
    # How long a presigned upload URL works.
    media_upload_url_seconds: int = 900
    # How long a presigned download URL works (unless a CDN serves the media).
    media_download_url_seconds: int = 3600
    # When set, download URLs are <base>/<object key> (a CDN in front of the bucket).
    media_cdn_base_url: str | None = None
    # Presigned URLs are signed for this S3 endpoint when clients reach S3 on
    # another host than the service does; default: S3_ENDPOINT_URL.
    media_presign_endpoint_url: str | None = None
    # Uploads not completed within this long are deleted (record and object).
    media_pending_ttl_seconds: int = 86_400
    media_sweep_interval_seconds: float = 300.0
    # Install the bucket lifecycle rule that expires staged uploads (needs
    # s3:PutLifecycleConfiguration; turn off where the bucket is managed elsewhere).
    media_manage_lifecycle: bool = True
    media_s3_threads: int = 16


async def build(settings: MediaSettings) -> App:
    if settings.media_upload_url_seconds >= settings.media_pending_ttl_seconds:
        # The sweeper frees an upload's key once its URL can no longer write there.
        raise ValueError("MEDIA_UPLOAD_URL_SECONDS must be less than MEDIA_PENDING_TTL_SECONDS")
    cql = await Cql.connect(settings)
    store = await MediaStore.open(cql)
    objects = ObjectStore(settings, presign_endpoint_url=settings.media_presign_endpoint_url,
                          threads=settings.media_s3_threads)
    if settings.media_manage_lifecycle:
        try:
            days = max(1, -(-settings.media_pending_ttl_seconds // 86_400))
            await objects.ensure_lifecycle(STAGING_PREFIX, days + 1)
        except Exception:
            log.exception("could not install the bucket lifecycle rule; the sweeper still runs")
    # Media ids are random (domain.new_media_id): no worker id lease needed.
    library = MediaLibrary(store, objects, upload_url_seconds=settings.media_upload_url_seconds)
    urls = DownloadUrls(objects, cdn_base_url=settings.media_cdn_base_url,
                        expires_seconds=settings.media_download_url_seconds)
    sweeper = Sweeper(store, objects,
                      ttl=timedelta(seconds=settings.media_pending_ttl_seconds))

    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    revoked = await RevokedSessions.open(settings.redis_url)
    redis = redis_client.connect(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, users_channel, revoked,
                                   idempotency=IdempotencyStore(redis))

    def register(server: grpc.aio.Server) -> None:
        media_pb2_grpc.add_MediaServiceServicer_to_server(MediaServicer(library, urls), server)

    async def stop() -> None:
        await users_channel.close()
        await revoked.close()
        await redis.aclose()
        await cql.close()
        objects.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[cql.required()],
               background={"upload-sweeper": lambda: sweeper.run(
                   settings.media_sweep_interval_seconds),
                   "revoked-sessions": revoked.run})


async def main() -> None:
    settings = MediaSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
