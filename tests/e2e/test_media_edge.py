"""Media uploads through the Envoy edge: presigned PUT to the real MinIO,
CompleteUpload validating the bytes, GetMedia with a working download URL."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.support.media import complete, create, jpeg, png, put, upload
from tests.support.mpo import GPS_IFD, mp4
from tests.support.users import MakeAccount

pytestmark = pytest.mark.e2e


async def test_png_upload_complete_and_read_back(edge: httpx.AsyncClient,
                                                 make_account: MakeAccount) -> None:
    alice, bob = await make_account("ma"), await make_account("mb")
    data = png(40, 30)
    started = await create(edge, alice, "image/png", len(data))
    assert started["media"]["state"] == "MEDIA_STATE_PENDING_UPLOAD"
    assert started["uploadMethod"] == "PUT"
    assert started["uploadHeaders"]["Content-Type"] == "image/png"
    assert (await put(started, data)).status_code == 200

    done = await complete(edge, alice, started["mediaId"])
    assert done.status_code == 200, done.text
    media = done.json()["media"]
    assert media["state"] == "MEDIA_STATE_READY"
    assert media["mediaType"] == "MEDIA_TYPE_IMAGE_PNG"
    assert (media["width"], media["height"]) == (40, 30)
    assert media["ownerUserId"] == str(alice.user_id)
    assert f"/media/{alice.user_id}/" in media["downloadUrl"]  # media/<user>/<yyyy>/<mm>/<id>
    assert media["downloadUrlExpiresAt"]

    again = await complete(edge, alice, started["mediaId"])  # idempotent
    assert again.status_code == 200
    assert again.json()["media"]["state"] == "MEDIA_STATE_READY"

    # Only the owner reads media by id (others through the tweets it is
    # attached to); the download URL serves the bytes.
    assert (await edge.get(f"/v1/media/{started['mediaId']}", headers=bob.bearer)
            ).status_code == 404
    read = await edge.get(f"/v1/media/{started['mediaId']}", headers=alice.bearer)
    assert read.status_code == 200, read.text
    async with httpx.AsyncClient(timeout=30) as s3:
        got = await s3.get(read.json()["media"]["downloadUrl"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"


async def test_gps_metadata_is_stripped(edge: httpx.AsyncClient,
                                        make_account: MakeAccount) -> None:
    alice = await make_account("mg")
    data = png(20, 10, gps=True)
    assert GPS_IFD in Image.open(io.BytesIO(data)).getexif()
    media = await upload(edge, alice, data)
    async with httpx.AsyncClient(timeout=30) as s3:
        stored = (await s3.get(media["downloadUrl"])).content
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert GPS_IFD not in exif
    assert exif[0x010F] == "TestCam"  # the rest of EXIF stays
    assert int(media["sizeBytes"]) == len(stored) < len(data)
    assert Image.open(io.BytesIO(stored)).size == (20, 10)


async def test_text_file_named_png_is_rejected(edge: httpx.AsyncClient,
                                               make_account: MakeAccount) -> None:
    alice = await make_account("mt")
    data = b"just some text, not an image at all\n" * 3
    started = await create(edge, alice, "image/png", len(data))
    assert (await put(started, data)).status_code == 200
    rejected = await complete(edge, alice, started["mediaId"])
    assert rejected.status_code == 400, rejected.text  # INVALID_ARGUMENT
    assert "image/png" in rejected.json()["message"]
    # The media is REJECTED for good: a retry is a precondition failure (412).
    retry = await complete(edge, alice, started["mediaId"])
    assert retry.status_code == 412, retry.text
    read = await edge.get(f"/v1/media/{started['mediaId']}", headers=alice.bearer)
    assert read.json()["media"]["state"] == "MEDIA_STATE_REJECTED"
    assert read.json()["media"]["downloadUrl"] == ""


async def test_bytes_of_another_type_are_rejected(edge: httpx.AsyncClient,
                                                  make_account: MakeAccount) -> None:
    alice = await make_account("mj")
    data = jpeg()
    started = await create(edge, alice, "image/png", len(data))
    assert (await put(started, data)).status_code == 200
    rejected = await complete(edge, alice, started["mediaId"])
    assert rejected.status_code == 400
    assert "image/jpeg" in rejected.json()["message"]


async def test_upload_url_is_bound_to_declared_size_and_type(edge: httpx.AsyncClient,
                                                             make_account: MakeAccount) -> None:
    alice = await make_account("ms")
    data = png()
    started = await create(edge, alice, "image/png", len(data))
    once = {"If-None-Match": "*"}  # signed too: without it S3 refuses the request (400)
    bigger = await put(started, data + b"\0", {"Content-Type": "image/png", **once})
    assert bigger.status_code == 403  # the signature covers Content-Length
    other_type = await put(started, data, {"Content-Type": "text/plain", **once})
    assert other_type.status_code == 403  # and Content-Type
    nothing = await complete(edge, alice, started["mediaId"])
    assert nothing.status_code == 412  # FAILED_PRECONDITION: nothing uploaded yet


async def test_declared_type_and_size_are_checked(edge: httpx.AsyncClient,
                                                  make_account: MakeAccount) -> None:
    alice = await make_account("md")
    for body in ({"contentType": "text/plain", "sizeBytes": 10},
                 {"contentType": "image/png", "sizeBytes": 0},
                 {"contentType": "image/png", "sizeBytes": 5 * 1024 * 1024 + 1},
                 {"contentType": "video/mp4", "sizeBytes": 512 * 1024 * 1024 + 1}):
        r = await edge.post("/v1/media", json=body, headers=alice.bearer)
        assert r.status_code == 400, (body, r.text)
    ok = await edge.post("/v1/media", json={"contentType": "video/mp4",
                                            "sizeBytes": 512 * 1024 * 1024},
                         headers=alice.bearer)
    assert ok.status_code == 200


async def test_mp4_is_sniffed_from_its_bytes(edge: httpx.AsyncClient,
                                             make_account: MakeAccount) -> None:
    alice = await make_account("mv")
    media = await upload(edge, alice, mp4(320, 240), "video/mp4")
    assert media["mediaType"] == "MEDIA_TYPE_VIDEO_MP4"
    assert media["state"] == "MEDIA_STATE_READY"
    assert (media["width"], media["height"]) == (320, 240)


async def test_only_the_owner_completes_and_sees_pending_media(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, mallory = await make_account("mo"), await make_account("mm")
    data = png()
    started = await create(edge, alice, "image/png", len(data))
    assert (await put(started, data)).status_code == 200
    stolen = await complete(edge, mallory, started["mediaId"])
    assert stolen.status_code == 404, stolen.text
    peek = await edge.get(f"/v1/media/{started['mediaId']}", headers=mallory.bearer)
    assert peek.status_code == 404  # someone else's PENDING media does not exist for you
    own = await edge.get(f"/v1/media/{started['mediaId']}", headers=alice.bearer)
    assert own.status_code == 200
    assert own.json()["media"]["downloadUrl"] == ""
    assert (await complete(edge, alice, started["mediaId"])).status_code == 200


async def test_media_needs_a_token_and_batch_get_is_internal(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    r = await edge.post("/v1/media", json={"contentType": "image/png", "sizeBytes": 10})
    assert r.status_code == 401
    unknown = await edge.get("/v1/media/123", headers=(await make_account("mu")).bearer)
    assert unknown.status_code == 404


async def test_attach_png_to_a_tweet_and_read_it_back(edge: httpx.AsyncClient,
                                                      make_account: MakeAccount) -> None:
    alice, bob = await make_account("at"), await make_account("au")
    media = await upload(edge, alice, png(64, 48))
    r = await edge.post("/v1/tweets", json={"content": "look at this",
                                            "mediaIds": [media["mediaId"]]},
                        headers=alice.bearer)
    assert r.status_code == 200, r.text
    tweet_id = r.json()["tweet"]["tweetId"]
    read = (await edge.get(f"/v1/tweets/{tweet_id}", headers=bob.bearer)).json()["tweet"]
    [attached] = read["media"]
    assert attached["mediaId"] == media["mediaId"]
    assert attached["mediaType"] == "MEDIA_TYPE_IMAGE_PNG"
    assert (attached["width"], attached["height"]) == (64, 48)
    async with httpx.AsyncClient() as s3:  # the presigned download URL
        downloaded = await s3.get(attached["url"])
    assert downloaded.status_code == 200
    assert downloaded.content.startswith(b"\x89PNG")


async def test_someone_elses_or_unfinished_media_cannot_be_attached(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, bob = await make_account("av"), await make_account("aw")
    alices = await upload(edge, alice, png())
    r = await edge.post("/v1/tweets", json={"content": "mine now", "mediaIds": [alices["mediaId"]]},
                        headers=bob.bearer)
    assert r.status_code == 403, r.text
    pending = await create(edge, bob, "image/png", 100)
    r = await edge.post("/v1/tweets", json={"content": "too early",
                                            "mediaIds": [pending["mediaId"]]},
                        headers=bob.bearer)
    assert r.status_code == 412, r.text
    too_many = [(await upload(edge, alice, png()))["mediaId"] for _ in range(5)]
    r = await edge.post("/v1/tweets", json={"content": "five", "mediaIds": too_many},
                        headers=alice.bearer)
    assert r.status_code == 400, r.text
