"""Configuration of the media service."""

from __future__ import annotations

from services.shared.config import (
    AuthSettings,
    PeerAddresses,
    RedisSettings,
    S3Settings,
    ScyllaSettings,
    ServerSettings,
)
from services.shared.ports import SERVICE_PORTS


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
