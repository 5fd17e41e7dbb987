"""gRPC transport of the media service: requests to domain calls, records to protos."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.media.v1 import media_pb2, media_pb2_grpc

from services.media.domain import MediaRecord
from services.media.library import DownloadUrls, MediaLibrary
from services.shared.fields.timestamps import to_timestamp
from services.shared.security.auth import caller_id

Ctx = grpc.aio.ServicerContext[Any, Any]


def media_pb(media: MediaRecord, urls: DownloadUrls) -> media_pb2.Media:
    download = urls.for_media(media)
    return media_pb2.Media(
        media_id=media.media_id, owner_user_id=media.owner_id,
        media_type=int(media.media_type), state=int(media.state),  # type: ignore[arg-type]
        size_bytes=media.size_bytes, width=media.width, height=media.height,
        download_url=download.url if download else "",
        download_url_expires_at=to_timestamp(download.expires_at) if download else None,
        rejection_reason=media.rejection_reason, created_at=to_timestamp(media.created_at))


class MediaServicer(media_pb2_grpc.MediaServiceServicer):
    def __init__(self, library: MediaLibrary, urls: DownloadUrls) -> None:
        self._library = library
        self._urls = urls

    async def CreateUpload(self, request: media_pb2.CreateUploadRequest,
                           context: Ctx) -> media_pb2.CreateUploadResponse:
        upload = await self._library.create_upload(caller_id(), request.content_type,
                                                   request.size_bytes)
        return media_pb2.CreateUploadResponse(
            media_id=upload.media.media_id, upload_url=upload.target.url,
            upload_method=upload.target.method, upload_headers=upload.target.headers,
            expires_at=to_timestamp(upload.expires_at), media=media_pb(upload.media, self._urls))

    async def CompleteUpload(self, request: media_pb2.CompleteUploadRequest,
                             context: Ctx) -> media_pb2.CompleteUploadResponse:
        media = await self._library.complete(caller_id(), request.media_id)
        return media_pb2.CompleteUploadResponse(media=media_pb(media, self._urls))

    async def GetMedia(self, request: media_pb2.GetMediaRequest,
                       context: Ctx) -> media_pb2.GetMediaResponse:
        media = await self._library.get(caller_id(), request.media_id)
        return media_pb2.GetMediaResponse(media=media_pb(media, self._urls))

    async def BatchGetMedia(self, request: media_pb2.BatchGetMediaRequest,
                            context: Ctx) -> media_pb2.BatchGetMediaResponse:
        found = await self._library.batch_get(list(request.media_ids))
        return media_pb2.BatchGetMediaResponse(media=[media_pb(m, self._urls) for m in found])
