"""Issue 22 (data side) through the edge: secrets stay out of the logs, revoked
sessions end their access tokens, media is private until attached and stored
exactly as validated, live streams are bounded."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from twitter.users.v1 import users_pb2, users_pb2_grpc

from tests.conftest import PASSWORD, unique_name

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
    await asyncio.sleep(1.0)  # supervisord copies the services' stdout to the files
    text = _new_log_text(before, logs)
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


async def _until_refused(edge: httpx.AsyncClient, headers: dict[str, str], user_id: str,
                         within: float = 2.0) -> list[int]:
    """The statuses once every read is 401, or as they stand after `within`."""
    deadline = time.monotonic() + within
    while True:
        statuses = await _statuses(edge, headers, user_id)
        if all(s == 401 for s in statuses) or time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(0.05)


async def test_logout_ends_the_access_token_in_every_service(edge: httpx.AsyncClient) -> None:
    alice = await _account(edge)
    other_session = await _login(edge, alice["username"])
    assert 401 not in await _statuses(edge, alice["headers"], alice["userId"])
    out = await edge.post("/v1/auth/logout", json={"refreshToken": alice["refreshToken"]})
    assert out.status_code == 200, out.text
    assert await _until_refused(edge, alice["headers"], alice["userId"]) == [401] * 6
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
        assert await _until_refused(edge, headers, alice["userId"]) == [401] * 6


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
        deadline = time.monotonic() + 2.0
        while True:
            try:
                await stub.GetUser(request, metadata=metadata)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
                break
            assert time.monotonic() < deadline, "the revoked token still works"
            await asyncio.sleep(0.05)


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
        deadline = time.monotonic() + 3
        while True:
            async with client.stream("GET", path, headers=alice["headers"]) as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "a closed stream kept its slot"
            await asyncio.sleep(0.1)
