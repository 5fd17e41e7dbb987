"""Issue 22 (data side) through the edge: secrets stay out of the logs, revoked
sessions end their access tokens, media is private until attached and stored
exactly as validated, live streams are bounded."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from PIL import Image
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.snowflake.ids import id_time
from tests.support.media import complete, create, png, put, upload
from tests.support.mpo import frames_gps, jpeg_with_exif, mp4, mpo_with_gps_in_second_image
from tests.support.users import PASSWORD, MakeAccount, unique_name
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


def _log_sizes(logs: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in logs.glob("*.log")}


def _new_log_text(before: dict[Path, int], logs: Path) -> str:
    chunks = []
    for path in logs.glob("*.log"):
        with path.open("rb") as f:
            f.seek(before.get(path, 0))
            chunks.append(f.read().decode(errors="replace"))
    return "".join(chunks)


async def test_a_failed_login_leaves_no_password_in_the_logs(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    """Finding 4: a 9,000-character username used to end in a 500 whose
    traceback logged the frame locals, the password among them."""
    logs = Path(stack_env["STACK_DIR"]) / "logs"
    before = _log_sizes(logs)
    password = f"pw-{secrets.token_hex(16)}"
    bearer = f"Bearer not-a-jwt-{secrets.token_hex(16)}"
    # Random, so PostgreSQL cannot compress it under the index row limit.
    username = secrets.token_hex(4500)
    r = await edge.post("/v1/auth/login", json={"username": username, "password": password},
                        headers={"Authorization": bearer})
    assert r.status_code < 600
    request_id = r.headers["x-request-id"]

    async def logged() -> str:
        # Envoy logs the request once it has answered (flushing every 10 s);
        # whatever the services logged for it was written before that answer.
        text = _new_log_text(before, logs)
        return text if request_id in text else ""
    text = await eventually(logged, within=15, every=0.2, what="the request's access log line")
    assert password not in text
    assert bearer.split()[1] not in text


def _name() -> str:
    return unique_name("sd")


# Finding 6: revoked sessions end their access tokens ---------------------------------

async def _account(edge: httpx.AsyncClient) -> dict[str, Any]:
    username = _name()
    created = await edge.post("/v1/users", json={
        "username": username, "email": f"{username}@example.com", "password": PASSWORD})
    assert created.status_code == 200, created.text
    tokens = await _login(edge, username)
    return {"userId": created.json()["user"]["userId"], "username": username, **tokens}


async def _login(edge: httpx.AsyncClient, username: str) -> dict[str, Any]:
    r = await edge.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return {"headers": {"Authorization": f"Bearer {body['accessToken']}"},
            "accessToken": body["accessToken"], "refreshToken": body["refreshToken"]}


def _reads(user_id: str) -> list[str]:
    """One authenticated read per service behind the edge."""
    return [f"/v1/users/{user_id}", f"/v1/users/{user_id}/tweets", f"/v1/timeline/{user_id}",
            "/v1/search/tweets?q=hello", "/v1/media/1", "/v1/conversations"]


async def _statuses(edge: httpx.AsyncClient, headers: dict[str, str],
                    user_id: str) -> list[int]:
    return [(await edge.get(path, headers=headers)).status_code for path in _reads(user_id)]


async def _refused_everywhere(edge: httpx.AsyncClient, headers: dict[str, str],
                              user_id: str, within: float = 2.0) -> None:
    """Until every read (one per service) is 401."""
    async def refused() -> bool:
        return set(await _statuses(edge, headers, user_id)) == {401}
    await eventually(refused, within=within, what="every service refusing the token")


async def test_logout_ends_the_access_token_in_every_service(edge: httpx.AsyncClient) -> None:
    alice = await _account(edge)
    other_session = await _login(edge, alice["username"])
    assert 401 not in await _statuses(edge, alice["headers"], alice["userId"])
    out = await edge.post("/v1/auth/logout", json={"refreshToken": alice["refreshToken"]})
    assert out.status_code == 200, out.text
    await _refused_everywhere(edge, alice["headers"], alice["userId"])
    # Writes too, and only that session: her other login still works.
    r = await edge.post("/v1/tweets", json={"content": "after logout"}, headers=alice["headers"])
    assert r.status_code == 401
    assert 401 not in await _statuses(edge, other_session["headers"], alice["userId"])


async def test_refresh_token_reuse_ends_every_access_token_of_the_session(
        edge: httpx.AsyncClient) -> None:
    alice = await _account(edge)
    rotated = await edge.post("/v1/auth/refresh", json={"refreshToken": alice["refreshToken"]})
    assert rotated.status_code == 200, rotated.text
    newer = {"Authorization": f"Bearer {rotated.json()['accessToken']}"}
    reused = await edge.post("/v1/auth/refresh", json={"refreshToken": alice["refreshToken"]})
    assert reused.status_code == 401  # a stolen copy: the whole session is revoked
    for headers in (alice["headers"], newer):
        await _refused_everywhere(edge, headers, alice["userId"])


async def test_a_revoked_token_is_refused_on_direct_grpc_calls_too(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    """Services verify the JWT themselves when not called through the edge."""
    alice = await _account(edge)
    metadata = (("authorization", f"Bearer {alice['accessToken']}"),)
    async with grpc.aio.insecure_channel(stack_env["USERS_ADDR"]) as channel:
        stub = users_pb2_grpc.UserServiceStub(channel)
        request = users_pb2.GetUserRequest(user_id=int(alice["userId"]))
        await stub.GetUser(request, metadata=metadata)
        await edge.post("/v1/auth/logout", json={"refreshToken": alice["refreshToken"]})

        async def refused() -> grpc.StatusCode | None:
            try:
                await stub.GetUser(request, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return None  # the revoked token still works
        code = await eventually(refused, within=2.0, what="the revoked token refused")
        assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_ends_an_open_live_stream(edge: httpx.AsyncClient, edge_url: str) -> None:
    alice = await _account(edge)
    opened = asyncio.Event()
    lines: list[str] = []

    async def listen() -> None:
        async with httpx.AsyncClient(base_url=edge_url, timeout=None) as client, \
                client.stream("GET", f"/v1/timeline/{alice['userId']}/stream",
                              headers=alice["headers"]) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                lines.append(line)
                opened.set()

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(opened.wait(), 5)
    await edge.post("/v1/auth/logout", json={"refreshToken": alice["refreshToken"]})
    await asyncio.wait_for(listener, 5)  # the stream ends (heartbeats are 15 s apart)
    assert any("heartbeat" in line for line in lines)


# Finding 9: live streams are bounded ----------------------------------------------------

async def test_a_user_has_at_most_five_live_streams(edge: httpx.AsyncClient,
                                                    edge_url: str) -> None:
    alice = await _account(edge)
    path = f"/v1/timeline/{alice['userId']}/stream"
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=edge_url, timeout=10))
        streams = []
        for _ in range(5):  # the timeline's two processes share the count
            response = await stack.enter_async_context(
                client.stream("GET", path, headers=alice["headers"]))
            assert response.status_code == 200
            streams.append(response)
        refused = await client.get(path, headers=alice["headers"])
        assert refused.status_code == 429, refused.text
        assert "live streams" in refused.json()["message"]
        await streams.pop().aclose()  # closing one frees its slot

        async def reopened() -> bool:
            async with client.stream("GET", path, headers=alice["headers"]) as again:
                return again.status_code == 200
        await eventually(reopened, within=3, every=0.1, what="a closed stream's slot freed")


# Finding 5: GPS in every image of a JPEG --------------------------------------------

async def test_gps_is_stripped_from_every_image_of_an_mpf_jpeg(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account("sg")
    trailer = jpeg_with_exif(8, 8, (0, 0, 200), gps=True)  # appended, unindexed
    data = mpo_with_gps_in_second_image(trailer)
    assert frames_gps(data) == [False, True]  # the second image has GPS
    media = await upload(edge, alice, data, "image/jpeg")
    stored = await _download(media["downloadUrl"])
    assert frames_gps(stored) == [False, False]
    assert trailer not in stored
    assert int(media["sizeBytes"]) == len(stored) < len(data)
    with Image.open(io.BytesIO(stored)) as img:
        sizes = [entry["Size"] for entry in img.mpinfo[0xB002]]  # type: ignore[attr-defined]
        assert img.size == (32, 24)
        assert sum(sizes) == len(stored)  # nothing after the images


# Finding 8: media ---------------------------------------------------------------------

async def _download(url: str) -> bytes:
    async with httpx.AsyncClient(timeout=30) as s3:
        got = await s3.get(url)
    assert got.status_code == 200
    return got.content


async def test_the_upload_url_writes_once(edge: httpx.AsyncClient,
                                          make_account: MakeAccount) -> None:
    """The staged bytes cannot change between validation and storage, nor
    after completion: the stored object is what was validated."""
    alice = await make_account("sw")
    first = png(40, 30)
    started = await create(edge, alice, "image/png", len(first))
    assert (await put(started, first)).status_code == 200
    assert (await put(started, first)).status_code == 412  # already uploaded
    done = await complete(edge, alice, started["mediaId"])
    assert done.status_code == 200, done.text
    url = done.json()["media"]["downloadUrl"]
    for attempt in (first, b"\0" * len(first)):  # after completion: refused too
        assert (await put(started, attempt)).status_code == 412
    assert await _download(url) == first
    again = await complete(edge, alice, started["mediaId"])
    assert again.status_code == 200
    assert await _download(
        again.json()["media"]["downloadUrl"]) == first


async def test_a_video_is_checked_beyond_its_first_bytes(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account("sv")
    # A valid ftyp box, then a web page: the old 12-byte sniff let it through.
    fake = (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
            b"<html><script>alert(document.cookie)</script></html>")
    started = await create(edge, alice, "video/mp4", len(fake))
    assert (await put(started, fake)).status_code == 200
    rejected = await complete(edge, alice, started["mediaId"])
    assert rejected.status_code == 400, rejected.text
    assert "video/mp4" in rejected.json()["message"]
    # ftyp and moov but data outside the file, or bytes after the last box.
    good = mp4(64, 48)
    for bad in (good + b"trailing bytes", good[:-8]):
        started = await create(edge, alice, "video/mp4", len(bad))
        assert (await put(started, bad)).status_code == 200
        assert (await complete(edge, alice, started["mediaId"])).status_code == 400
    media = await upload(edge, alice, good, "video/mp4")
    assert (media["width"], media["height"]) == (64, 48)
    assert await _download(media["downloadUrl"]) == good


async def test_media_is_read_by_its_owner_and_through_live_tweets_only(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, bob = await make_account("so"), await make_account("sb")
    media = await upload(edge, alice, png(24, 24))
    path = f"/v1/media/{media['mediaId']}"
    assert (await edge.get(path, headers=bob.bearer)).status_code == 404  # not attached
    assert (await edge.get(path, headers=alice.bearer)).status_code == 200
    posted = await edge.post("/v1/tweets", json={"content": "pic",
                                                 "mediaIds": [media["mediaId"]]},
                             headers=alice.bearer)
    assert posted.status_code == 200, posted.text
    tweet_id = posted.json()["tweet"]["tweetId"]
    read = await edge.get(f"/v1/tweets/{tweet_id}", headers=bob.bearer)
    [attached] = read.json()["tweet"]["media"]
    assert await _download(attached["url"]) == await _download(media["downloadUrl"])
    assert (await edge.get(path, headers=bob.bearer)).status_code == 404  # by id: never
    assert (await edge.delete(f"/v1/tweets/{tweet_id}", headers=alice.bearer)).status_code == 200
    assert (await edge.get(f"/v1/tweets/{tweet_id}", headers=bob.bearer)).status_code == 404


async def test_media_ids_are_unguessable(edge: httpx.AsyncClient,
                                         make_account: MakeAccount) -> None:
    alice = await make_account("si")
    ids = [int((await create(edge, alice, "image/png", 100))["mediaId"]) for _ in range(3)]
    now = datetime.now(UTC)
    # Snowflakes made a moment apart share their time bits and differ by a few
    # units; random ids have no time in them and lie far apart.
    assert not any(abs(id_time(i) - now) < timedelta(minutes=5) for i in ids)
    assert min(abs(a - b) for a in ids for b in ids if a != b) > 1 << 32
    assert all(0 < i < 1 << 63 for i in ids)
