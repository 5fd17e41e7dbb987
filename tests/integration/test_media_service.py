"""The media service against the real Cassandra and MinIO: the internal
BatchGetMedia, and the sweeper that deletes uploads never completed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from twitter.media.v1 import media_pb2, media_pb2_grpc

from services.media.domain import MediaState, staging_key
from services.media.library import MediaLibrary, Sweeper
from services.media.repository import MediaStore
from services.media.storage import ObjectStore
from services.shared.config import AuthSettings, S3Settings, ScyllaSettings
from services.shared.rpc.clients import internal_channel
from services.shared.stores.cassandra import Cql
from tests.support.media import png
from tests.support.users import MakeAccount


@pytest.fixture(scope="session")
async def media_stub(stack_env: dict[str, str]) -> AsyncIterator[
        media_pb2_grpc.MediaServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(stack_env["MEDIA_ADDR"])
    yield media_pb2_grpc.MediaServiceStub(channel)
    await channel.close()


@pytest.fixture(scope="session")
async def media_internal(stack_env: dict[str, str]) -> AsyncIterator[
        media_pb2_grpc.MediaServiceAsyncStub]:
    channel = internal_channel(stack_env["MEDIA_ADDR"],
                               AuthSettings().internal_token.get_secret_value())
    yield media_pb2_grpc.MediaServiceStub(channel)
    await channel.close()


@pytest.fixture
async def parts(stack_env: dict[str, str]) -> AsyncIterator[tuple[MediaStore, ObjectStore]]:
    """The service's objects in-process: another replica."""
    cql = await Cql.connect(ScyllaSettings())
    objects = ObjectStore(S3Settings(), threads=2)
    yield await MediaStore.open(cql), objects
    objects.close()
    await cql.close()


async def test_batch_get_is_internal_keeps_order_and_skips_unknown(
        media_stub: media_pb2_grpc.MediaServiceAsyncStub,
        media_internal: media_pb2_grpc.MediaServiceAsyncStub,
        make_account: MakeAccount) -> None:
    alice = await make_account("bg")
    data = png()
    created = []
    for _ in range(2):
        c = await media_stub.CreateUpload(media_pb2.CreateUploadRequest(
            content_type="image/png", size_bytes=len(data)), metadata=alice.metadata)
        created.append(c)
    async with httpx.AsyncClient() as s3:
        r = await s3.put(created[0].upload_url, content=data,
                         headers=dict(created[0].upload_headers))
        assert r.status_code == 200
    await media_stub.CompleteUpload(media_pb2.CompleteUploadRequest(
        media_id=created[0].media_id), metadata=alice.metadata)

    ids = [created[1].media_id, 42, created[0].media_id, created[1].media_id]
    found = await media_internal.BatchGetMedia(media_pb2.BatchGetMediaRequest(media_ids=ids))
    assert [m.media_id for m in found.media] == [created[1].media_id, created[0].media_id]
    pending, ready = found.media
    assert pending.state == media_pb2.MEDIA_STATE_PENDING_UPLOAD
    assert not pending.download_url
    assert ready.state == media_pb2.MEDIA_STATE_READY
    assert ready.download_url
    assert ready.owner_user_id == alice.user_id
    assert (ready.width, ready.height) == (40, 30)

    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await media_internal.BatchGetMedia(
            media_pb2.BatchGetMediaRequest(media_ids=list(range(1, 102))))
    assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as as_user:
        await media_stub.BatchGetMedia(media_pb2.BatchGetMediaRequest(media_ids=ids),
                                       metadata=alice.metadata)
    assert as_user.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_sweeper_deletes_abandoned_uploads_only(
        parts: tuple[MediaStore, ObjectStore]) -> None:
    store, objects = parts
    library = MediaLibrary(store, objects, upload_url_seconds=60)
    owner = 999_000_000 + datetime.now(UTC).microsecond
    data = png()
    abandoned = await library.create_upload(owner, "image/png", len(data))
    finished = await library.create_upload(owner, "image/png", len(data))
    async with httpx.AsyncClient() as s3:
        for upload in (abandoned, finished):
            r = await s3.put(upload.target.url, content=data, headers=upload.target.headers)
            assert r.status_code == 200
    ready = await library.complete(owner, finished.media.media_id)
    assert ready.state is MediaState.READY

    # Nothing of this test is an hour old yet. (Uploads that earlier runs on
    # this stack abandoned over an hour ago may go: count only ours.)
    await Sweeper(store, objects, ttl=timedelta(hours=1)).sweep_once(datetime.now(UTC))
    still = await store.get(abandoned.media.media_id)
    assert still is not None
    assert still.state is MediaState.PENDING_UPLOAD
    assert await objects.head(staging_key(abandoned.media.object_key)) is not None
    deleted = await Sweeper(store, objects, ttl=timedelta(hours=1)).sweep_once(
        datetime.now(UTC) + timedelta(hours=2))
    assert deleted >= 1
    assert await store.get(abandoned.media.media_id) is None
    assert await objects.head(staging_key(abandoned.media.object_key)) is None
    kept = await store.get(finished.media.media_id)
    assert kept is not None
    assert kept.state is MediaState.READY
    assert await objects.head(kept.object_key) is not None
