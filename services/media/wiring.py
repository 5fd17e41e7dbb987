"""The media service's composition root: builds its store, object store and
service objects from settings, for the server and tests alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.media.domain import STAGING_PREFIX
from services.media.library import DownloadUrls, MediaLibrary, Sweeper
from services.media.repository import MediaStore
from services.media.settings import MediaSettings
from services.media.storage import ObjectStore
from services.shared.concurrency.background import Job
from services.shared.observability.logging import get_logger
from services.shared.stores.cassandra import Cql

log = get_logger(__name__)


@dataclass(frozen=True)
class Service:
    """The service objects over their connections, with the jobs they need."""

    library: MediaLibrary
    urls: DownloadUrls
    sweeper: Sweeper
    cql: Cql
    objects: ObjectStore
    sweep_interval_seconds: float

    def background(self) -> dict[str, Job]:
        return {"upload-sweeper": lambda: self.sweeper.run(self.sweep_interval_seconds)}

    async def close(self) -> None:
        await self.cql.close()
        self.objects.close()


async def build(settings: MediaSettings) -> Service:
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
    sweeper = Sweeper(store, objects, ttl=timedelta(seconds=settings.media_pending_ttl_seconds))
    return Service(library, urls, sweeper, cql, objects, settings.media_sweep_interval_seconds)
