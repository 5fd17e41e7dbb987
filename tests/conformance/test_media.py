"""The media contract (twitter/media/v1/media.proto): declared type and size
validated, media visible to its owner only, completion needs an upload."""

from __future__ import annotations

import grpc
import pytest
from twitter.media.v1 import media_pb2, media_pb2_grpc

from tests.support.conformance import Channels, NewUser, rejected


@pytest.fixture(scope="module")
def media(channel: Channels) -> media_pb2_grpc.MediaServiceAsyncStub:
    return media_pb2_grpc.MediaServiceStub(channel("media"))


async def test_uploads_are_validated(media: media_pb2_grpc.MediaServiceAsyncStub,
                                     new_user: NewUser) -> None:
    me = await new_user()
    for content_type, size in [("text/plain", 10), ("image/png", 0),
                               ("image/png", 5 * 1024 * 1024 + 1)]:
        error = await rejected(media.CreateUpload(media_pb2.CreateUploadRequest(
            content_type=content_type, size_bytes=size), metadata=me.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (content_type, size)


async def test_media_is_its_owners_and_needs_its_bytes(
        media: media_pb2_grpc.MediaServiceAsyncStub, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    upload = await media.CreateUpload(media_pb2.CreateUploadRequest(
        content_type="image/png", size_bytes=100), metadata=me.auth)
    assert upload.upload_url
    assert upload.media.state == media_pb2.MEDIA_STATE_PENDING_UPLOAD
    assert upload.media.media_type == media_pb2.MEDIA_TYPE_IMAGE_PNG
    mine = await media.GetMedia(media_pb2.GetMediaRequest(media_id=upload.media_id),
                                metadata=me.auth)
    assert mine.media.media_id == upload.media_id
    theirs = await rejected(media.GetMedia(media_pb2.GetMediaRequest(
        media_id=upload.media_id), metadata=other.auth))
    assert theirs.code() == grpc.StatusCode.NOT_FOUND
    early = await rejected(media.CompleteUpload(media_pb2.CompleteUploadRequest(
        media_id=upload.media_id), metadata=me.auth))
    assert early.code() == grpc.StatusCode.FAILED_PRECONDITION
    missing = await rejected(media.GetMedia(media_pb2.GetMediaRequest(media_id=1),
                                            metadata=me.auth))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
