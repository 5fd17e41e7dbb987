"""The media service as the tweets service needs it: only the author's READY
media can be attached, and attachments are hydrated (type, URL, size) on reads."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc
from twitter.media.v1 import media_pb2, media_pb2_grpc

from services.shared.errors import FailedPrecondition, NotFound, PermissionDenied

MAX_IDS = 100  # BatchGetMedia's limit
MAX_CACHED = 50_000  # attachments kept in memory at most


@dataclass(frozen=True)
class Attachment:
    media_id: int
    media_type: media_pb2.MediaType  # the one MediaType, tweets.proto uses it too
    url: str
    width: int
    height: int


class MediaClient:
    def __init__(self, channel: grpc.aio.Channel, *, cache_seconds: float = 300.0,
                 timeout: float = 5.0) -> None:
        self._stub = media_pb2_grpc.MediaServiceStub(channel)
        self._timeout = timeout
        # Keep well under the media service's download URL lifetime (1 h by default).
        self._ttl = cache_seconds
        self._cache: dict[int, tuple[Attachment, float]] = {}

    async def _fetch(self, media_ids: list[int]) -> dict[int, media_pb2.Media]:
        found: dict[int, media_pb2.Media] = {}
        for start in range(0, len(media_ids), MAX_IDS):
            response = await self._stub.BatchGetMedia(
                media_pb2.BatchGetMediaRequest(media_ids=media_ids[start:start + MAX_IDS]),
                timeout=self._timeout)
            found |= {m.media_id: m for m in response.media}
        return found

    async def check_attachable(self, author: int, media_ids: list[int]) -> None:
        """NOT_FOUND for an unknown id (or someone else's media that is not READY:
        it does not exist for the author); PERMISSION_DENIED for someone else's
        READY media; FAILED_PRECONDITION for the author's media not READY yet."""
        if not media_ids:
            return
        found = await self._fetch(media_ids)
        for media_id in media_ids:
            media = found.get(media_id)
            ready = media is not None and media.state == media_pb2.MEDIA_STATE_READY
            if media is None or (media.owner_user_id != author and not ready):
                raise NotFound(f"media {media_id} not found")
            if media.owner_user_id != author:
                raise PermissionDenied(f"media {media_id} belongs to another user")
            if not ready:
                raise FailedPrecondition(
                    f"media {media_id} is not ready: complete its upload first")

    async def attachments(self, media_ids: set[int]) -> dict[int, Attachment]:
        """READY media among the ids, cached briefly (URLs expire)."""
        now = time.monotonic()
        result: dict[int, Attachment] = {}
        missing = []
        for media_id in media_ids:
            cached = self._cache.get(media_id)
            if cached and now - cached[1] < self._ttl:
                result[media_id] = cached[0]
            else:
                missing.append(media_id)
        if missing:
            for m in (await self._fetch(missing)).values():
                if m.state != media_pb2.MEDIA_STATE_READY:
                    continue
                attachment = Attachment(m.media_id, m.media_type, m.download_url,
                                        m.width, m.height)
                result[m.media_id] = attachment
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()  # crude but bounded: entries refill on demand
                self._cache[m.media_id] = (attachment, now)
        return result
