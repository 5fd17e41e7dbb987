"""A client developer's path: generate a Python client with openapi-python-client
from the document the edge serves, check the generated code with strict mypy,
and run a scenario with it against the running stack.

The client is generated into a temporary folder and imported from there, so
its types are only known at run time (the scenario reads them as Any); its
own typing is what the mypy step checks.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.support.media import png
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"
CONFIG = REPO / "clients" / "python" / "config.yaml"
PASSWORD = "correct horse battery"
# The generator cannot describe a live stream (NDJSON) as a typed call: it
# says so for these two, and the scenario reads them with the client's httpx.
# The Server-Sent Events routes it takes as text (no warning); the scenario
# reads them with httpx-sse over the client's httpx, data as generated models.
STREAM_OPERATIONS = ("GET /v1/notifications/stream", "GET /v1/timeline/{userId}/stream")


class Generated:
    """The generated package's modules, by name relative to twitter_client."""

    def __init__(self, output: str) -> None:
        self.output = output

    def __getattr__(self, name: str) -> Any:
        return importlib.import_module(f"twitter_client.{name}")

    def api(self, operation: str) -> Any:
        """An operation's module, e.g. "tweet_service.create_tweet"."""
        return importlib.import_module(f"twitter_client.api.{operation}")


@pytest.fixture(scope="module")
def generated(edge_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("python-client")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{edge_url}/openapi.json", timeout=30).content)
    env = os.environ | {"PATH": f"{BIN}:{os.environ['PATH']}"}
    run = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", document, "--meta", "none",
         "--config", CONFIG, "--output-path", root / "twitter_client"],
        check=False, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    warned = [line.removeprefix("WARNING parsing ").split(" within ")[0]
              for line in output.splitlines() if line.startswith("WARNING")]
    assert sorted(warned) == sorted(STREAM_OPERATIONS), output
    sys.path.insert(0, str(root))
    try:
        yield Generated(output)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.partition(".")[0] == "twitter_client"]:
            del sys.modules[name]


def test_generated_code_passes_strict_mypy(generated: Generated) -> None:
    package = Path(generated.models.__file__).parents[1]
    run = subprocess.run(
        [BIN / "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull,
         package.name], check=False, cwd=package.parent, capture_output=True, text=True,
        timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout


async def sign_up(g: Generated, base_url: str, prefix: str) -> tuple[Any, str, str]:
    """A new user through the generated client: (authenticated client, id, name)."""
    username = f"{prefix}{uuid.uuid4().hex[:10]}"
    anonymous = g.client.Client(base_url=base_url, timeout=httpx.Timeout(30))
    created = await g.api("user_service.create_user").asyncio_detailed(
        client=anonymous, body=g.models.CreateUserRequest(
            username=username, email=f"{username}@example.com", password=PASSWORD))
    assert created.status_code == 200, created.content
    logged_in = await g.api("auth_service.login").asyncio(
        client=anonymous, body=g.models.LoginRequest(username=username, password=PASSWORD))
    assert isinstance(logged_in, g.models.LoginResponse), logged_in
    assert logged_in.user_id == created.parsed.user.user_id
    # The bearer scheme: the client adds "Bearer " itself.
    client = g.client.AuthenticatedClient(base_url=base_url, token=logged_in.access_token,
                                          timeout=httpx.Timeout(30))
    return client, logged_in.user_id, username


async def test_scenario(generated: Generated, edge_url: str) -> None:
    g = generated
    alice, alice_id, _ = await sign_up(g, edge_url, "pa")
    bob, bob_id, bob_name = await sign_up(g, edge_url, "pb")
    word = f"w{uuid.uuid4().hex[:12]}"

    followed = await g.api("user_service.follow_user").asyncio_detailed(
        client=alice, user_id=alice_id, body=g.models.FollowUserBody(target_user_id=bob_id))
    assert followed.status_code == 200, followed.content

    media_id = await upload_png(g, bob)

    # Alice's live streams (NDJSON and SSE) are open before Bob posts.
    received, listener = await open_ndjson(g, alice.get_async_httpx_client(),
                                           f"/v1/timeline/{alice_id}/stream")
    updates, sse_listener = await open_events(
        alice.get_async_httpx_client(), f"/v1/timeline/{alice_id}/events", g.models.Tweet)

    posted = await g.api("tweet_service.create_tweet").asyncio(
        client=bob, body=g.models.CreateTweetRequest(content=f"hello #{word}",
                                                      media_ids=[media_id]))
    assert isinstance(posted, g.models.CreateTweetResponse), posted
    tweet = posted.tweet
    assert tweet.user_id == bob_id
    assert tweet.reply_to_tweet_id == "0"  # "0": absent
    assert [m.media_id for m in tweet.media] == [media_id]

    async def in_stream() -> bool:
        return any(m.entry and m.entry.tweet.tweet_id == tweet.tweet_id for m in received)
    await eventually(in_stream, within=30, what="the tweet on alice's live stream")
    listener.cancel()

    async def as_event() -> bool:
        return ("update", tweet.tweet_id, tweet.tweet_id) in {
            (name, event_id, data.tweet_id) for name, event_id, data in updates}
    await eventually(as_event, within=30, what="the tweet as an SSE update event")
    sse_listener.cancel()

    # Bob's notifications as Server-Sent Events, open before Alice likes.
    notifications, sse_listener = await open_events(
        bob.get_async_httpx_client(), "/v1/notifications/events", g.models.NotificationGroup)

    async def on_home_timeline() -> Any:
        page = await g.api("timeline_service.get_home_timeline").asyncio(client=alice,
                                                                      user_id=alice_id)
        return [e for e in page.entries if e.tweet.tweet_id == tweet.tweet_id]
    await eventually(on_home_timeline, within=30, what="the tweet on alice's home timeline")

    liked = await g.api("tweet_service.like_tweet").asyncio_detailed(
        client=alice, tweet_id=tweet.tweet_id, body=g.models.LikeTweetBody())
    assert liked.status_code == 200, liked.content

    async def like_event() -> bool:
        return any(name == "notification" and group.target_id == tweet.tweet_id
                   and group.kind == g.models.NotificationKind.NOTIFICATION_KIND_LIKE
                   and event_id == group.latest_notification_id
                   for name, event_id, group in notifications)
    await eventually(like_event, within=30, what="bob's like notification as an SSE event")
    sse_listener.cancel()

    async def found() -> Any:
        result = await g.api("search_service.search_tweets").asyncio(client=alice, q=word)
        return [t for t in result.tweets if t.tweet_id == tweet.tweet_id]
    await eventually(found, within=30, what="the tweet in search")

    async def notified() -> Any:
        page = await g.api("notification_service.list_notifications").asyncio(client=bob)
        return {group.kind for group in page.groups} >= {
            g.models.NotificationKind.NOTIFICATION_KIND_FOLLOW,
            g.models.NotificationKind.NOTIFICATION_KIND_LIKE}
    await eventually(notified, within=30, what="bob's follow and like notifications")

    # A 400, decoded: the error body is an ApiError that names its code, and
    # each violation names the JSON field.
    refused = await g.api("tweet_service.create_tweet").asyncio_detailed(
        client=bob, body=g.models.CreateTweetRequest(
            content="five media ids", media_ids=[str(n) for n in range(1, 6)]))
    assert refused.status_code == 400
    error = refused.parsed
    assert isinstance(error, g.models.ApiError), error
    assert error.status == g.models.Code.INVALID_ARGUMENT
    assert error.code == 3
    violations = error.details[0].additional_properties["fieldViolations"]
    assert [v["field"] for v in violations] == ["mediaIds"], violations  # not media_ids

    # Unauthenticated: 401 with the same body.
    anonymous = g.client.Client(base_url=edge_url)
    denied = await g.api("user_service.get_user_by_username").asyncio_detailed(
        client=anonymous, username=bob_name)
    assert denied.status_code == 401
    assert denied.parsed.status == g.models.Code.UNAUTHENTICATED


async def open_ndjson(g: Generated, http: httpx.AsyncClient, path: str
                      ) -> tuple[list[Any], asyncio.Task[None]]:
    """An NDJSON stream read in the background, open (its first line read) on return."""
    received: list[Any] = []
    opened = asyncio.Event()
    task = asyncio.create_task(read_stream(g, http, path, received, opened))
    await asyncio.wait_for(opened.wait(), 30)
    return received, task


async def read_stream(g: Generated, http: httpx.AsyncClient, path: str, received: list[Any],
                      opened: asyncio.Event) -> None:
    """Each NDJSON line as the generated model of one stream message."""
    async with http.stream("GET", path) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.strip():
                received.append(g.models.StreamHomeTimelineResponse.from_dict(json.loads(line)))
                opened.set()


async def upload_png(g: Generated, owner: Any) -> str:
    """Media: create, PUT the bytes with the headers the API returned, complete."""
    data = png(24, 16)
    upload = await g.api("media_service.create_upload").asyncio(
        client=owner, body=g.models.CreateUploadRequest(content_type="image/png",
                                                         size_bytes=str(len(data))))
    assert isinstance(upload, g.models.CreateUploadResponse), upload
    async with httpx.AsyncClient(timeout=30) as s3:
        put = await s3.request(upload.upload_method, upload.upload_url, content=data,
                               headers=upload.upload_headers.additional_properties)
    assert put.status_code == 200, put.text
    completed = await g.api("media_service.complete_upload").asyncio(
        client=owner, media_id=upload.media_id, body=g.models.CompleteUploadBody())
    assert completed.media.state == g.models.MediaState.MEDIA_STATE_READY
    media_id: str = upload.media_id
    return media_id


Event = tuple[str, str, Any]  # an SSE event's name, id, and data as a generated model


async def open_events(http: httpx.AsyncClient, path: str, model: Any
                      ) -> tuple[list[Event], asyncio.Task[None]]:
    """A Server-Sent Events stream read in the background, open on return."""
    received: list[Event] = []
    opened = asyncio.Event()
    task = asyncio.create_task(read_events(http, path, model, received, opened))
    await asyncio.wait_for(opened.wait(), 30)
    return received, task


async def read_events(http: httpx.AsyncClient, path: str, model: Any,
                      received: list[Event], opened: asyncio.Event) -> None:
    """Each Server-Sent Event as (event, id, data as the generated model)."""
    async with aconnect_sse(http, "GET", path) as source:
        assert source.response.status_code == 200
        opened.set()  # the edge answers once the stream is registered
        async for sse in source.aiter_sse():
            if sse.data:
                received.append((sse.event, sse.id, model.from_dict(json.loads(sse.data))))
