"""Uploads, validation and reads of media (service layer). The caller's id comes
in explicitly."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.media import images, video
from services.media.domain import (
    SNIFF_BYTES,
    MediaRecord,
    MediaState,
    check_upload,
    new_media_id,
    object_key,
    parse_declared,
    staging_key,
)
from services.media.repository import MediaStore, hour_of
from services.media.storage import ObjectChanged, ObjectInfo, ObjectStore, PresignedUpload
from services.shared.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.shared.observability.logging import get_logger

log = get_logger(__name__)

MAX_BATCH = 100


@dataclass(frozen=True)
class Upload:
    media: MediaRecord
    target: PresignedUpload
    expires_at: datetime


@dataclass(frozen=True)
class Download:
    url: str
    expires_at: datetime | None  # None: the URL does not expire (CDN)


class DownloadUrls:
    """Presigned GET URLs, or plain URLs under a CDN base when one is configured."""

    def __init__(self, objects: ObjectStore, *, cdn_base_url: str | None,
                 expires_seconds: int) -> None:
        self._objects = objects
        self._cdn = cdn_base_url.rstrip("/") if cdn_base_url else None
        self._ttl = expires_seconds

    def for_media(self, media: MediaRecord) -> Download | None:
        if media.state is not MediaState.READY:
            return None
        if self._cdn:
            return Download(f"{self._cdn}/{media.object_key}", None)
        return Download(self._objects.presign_download(media.object_key, self._ttl),
                        datetime.now(UTC) + timedelta(seconds=self._ttl))


class MediaLibrary:
    def __init__(self, store: MediaStore, objects: ObjectStore, *,
                 upload_url_seconds: int) -> None:
        self._store = store
        self._objects = objects
        self._upload_ttl = upload_url_seconds

    async def create_upload(self, caller: int, content_type: str, size_bytes: int) -> Upload:
        media_type = parse_declared(content_type, size_bytes)
        now = datetime.now(UTC)
        created = now.replace(microsecond=now.microsecond // 1000 * 1000)  # CQL keeps ms
        for _ in range(3):  # a taken random id is one chance in 2^63 per upload
            media_id = new_media_id()
            media = MediaRecord(media_id=media_id, owner_id=caller, media_type=media_type,
                                state=MediaState.PENDING_UPLOAD, size_bytes=size_bytes,
                                object_key=object_key(caller, media_id, media_type, created),
                                created_at=created)
            if await self._store.insert(media):
                break
        else:
            raise Unavailable("could not reserve a media id; try again")
        target = self._objects.presign_upload(staging_key(media.object_key),
                                              media_type.content_type, size_bytes,
                                              self._upload_ttl)
        return Upload(media, target, datetime.now(UTC) + timedelta(seconds=self._upload_ttl))

    async def get(self, caller: int, media_id: int) -> MediaRecord:
        media = await self._store.get(media_id)
        if media is None or not media.visible_to(caller):
            raise NotFound("media not found")
        return media

    async def batch_get(self, media_ids: list[int]) -> list[MediaRecord]:
        if len(media_ids) > MAX_BATCH:
            raise InvalidArgument.field("media_ids", f"at most {MAX_BATCH} ids")
        unique = list(dict.fromkeys(media_ids))
        found = await self._store.get_many(unique)
        return [found[m] for m in unique if m in found]

    async def complete(self, caller: int, media_id: int) -> MediaRecord:
        media = await self._store.get(media_id)
        if media is None or media.owner_id != caller:
            raise NotFound("media not found")
        if media.state is MediaState.READY:
            return media
        if media.state is MediaState.REJECTED:
            raise FailedPrecondition(f"the upload was rejected: {media.rejection_reason};"
                                     " start a new upload")
        staged = staging_key(media.object_key)
        info = await self._objects.head(staged)
        if info is None:
            raise FailedPrecondition("nothing was uploaded yet: send the file to the"
                                     " upload URL first")
        try:
            ready = await self._validate(media, staged, info)
        except InvalidArgument as exc:
            await self._reject(media, staged, exc.message)
            raise
        except ObjectChanged:
            # Another completion sealed the upload while this one read it.
            return await self._settled(media_id)
        if not await self._store.mark_ready(ready):
            # Another completion (or the sweeper) got there first.
            return await self._settled(media_id)
        await self._objects.seal(staged)
        return ready

    async def _settled(self, media_id: int) -> MediaRecord:
        current = await self._store.get(media_id)
        if current is None:
            raise NotFound("media not found")
        if current.state is not MediaState.READY:
            raise FailedPrecondition(f"the upload was rejected: {current.rejection_reason}")
        return current

    async def _validate(self, media: MediaRecord, staged: str, info: ObjectInfo) -> MediaRecord:
        """Checks the staged bytes and stores exactly those it checked at the
        media key: images from the bytes in hand, videos by a copy bound to
        the version read (its ETag)."""
        kind, size, etag = media.media_type, info.size, info.etag
        if size != media.size_bytes or size > kind.max_bytes:
            check_upload(kind, media.size_bytes, size, b"")  # raises with the reason
        if not kind.is_image:
            check_upload(kind, media.size_bytes, size,
                         await self._objects.read(staged, first=SNIFF_BYTES, etag=etag))
            read_at = functools.partial(self._read_at, staged, etag)
            movie = await video.inspect_mp4(read_at, size)
            # Location boxes blanked in place: same size, same offsets.
            await self._objects.copy(staged, media.object_key, kind.content_type, etag=etag,
                                     size=size, patches=movie.patches)
            return media.ready(size_bytes=size, width=movie.width, height=movie.height)
        data = await self._objects.read(staged, etag=etag)
        check_upload(kind, media.size_bytes, len(data), data[:SNIFF_BYTES])
        found = await asyncio.to_thread(images.inspect, data, kind)
        stored = found.cleaned if found.cleaned is not None else data
        await self._objects.write(media.object_key, stored, kind.content_type)
        return media.ready(size_bytes=len(stored), width=found.width, height=found.height)

    async def _read_at(self, key: str, etag: str, offset: int, length: int) -> bytes:
        return await self._objects.read(key, first=length, offset=offset, etag=etag)

    async def _reject(self, media: MediaRecord, staged: str, reason: str) -> None:
        log.info("upload rejected", media_id=media.media_id, reason=reason)
        if await self._store.mark_rejected(media.media_id, reason[:500]):
            await self._objects.seal(staged)


class Sweeper:
    """Deletes uploads never completed (their records and staged objects), and
    the empty objects completed uploads leave behind, once older than `ttl`
    (far longer than an upload URL lives). Works by whole hours of
    `media_pending`; runs in every media process, and the conditional delete
    makes concurrent sweeps and a racing CompleteUpload safe."""

    def __init__(self, store: MediaStore, objects: ObjectStore, *, ttl: timedelta,
                 lookback: timedelta = timedelta(days=3)) -> None:
        self._store = store
        self._objects = objects
        self._ttl = ttl
        self._lookback = lookback
        self._swept_through: int | None = None  # hours up to this one are clean

    async def sweep_once(self, now: datetime | None = None) -> int:
        """One pass; returns how many uploads it deleted."""
        cutoff = (now or datetime.now(UTC)) - self._ttl
        last_hour = hour_of(cutoff) - 1  # the hours wholly older than the cutoff
        first_hour = self._swept_through + 1 if self._swept_through is not None \
            else hour_of(cutoff - self._lookback)
        deleted = 0
        for hour in range(first_hour, last_hour + 1):
            for media_id in await self._store.pending(hour):
                deleted += await self._sweep(hour, media_id)
            self._swept_through = hour
        return deleted

    async def _sweep(self, hour: int, media_id: int) -> int:
        media = await self._store.get(media_id)
        deleted = 0
        if media is not None:
            if media.state is MediaState.PENDING_UPLOAD and \
                    await self._store.delete_if_pending(media_id):
                deleted = 1
            # The upload, or the empty object a completed one left: its URL is
            # long expired, so nothing can write there again.
            await self._objects.delete(staging_key(media.object_key))
        await self._store.unlist_pending(hour, media_id)
        return deleted

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                deleted = await self.sweep_once()
                if deleted:
                    log.info("swept abandoned uploads", deleted=deleted)
            except Exception:
                log.exception("upload sweep failed; retrying next time")
            await asyncio.sleep(every_seconds)
