"""Test accounts: names no other test uses, the account a fixture makes over
gRPC, and users signed up and logged in through the edge (REST)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery"

# A user made through the edge: its JSON fields plus "headers" (the bearer
# token) and "refreshToken".
User = dict[str, Any]


def unique_name(prefix: str = "u") -> str:
    """A username no other test (or earlier run) uses: at most 15 characters."""
    return f"{prefix}{uuid.uuid4().hex[:15 - len(prefix)]}"


@dataclass(frozen=True)
class Account:
    user_id: int
    username: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.access_token}"),)


MakeAccount = Callable[..., Awaitable[Account]]


async def sign_up(edge: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    username = unique_name()
    body = {"username": username, "email": f"{username}@example.com",
            "password": PASSWORD} | overrides
    return await edge.post("/v1/users", json=body)


async def login(edge: httpx.AsyncClient, username: str,
                password: str = PASSWORD) -> httpx.Response:
    return await edge.post("/v1/auth/login", json={"username": username, "password": password})


async def new_user(edge: httpx.AsyncClient) -> User:
    """A fresh user, signed up and logged in through the edge."""
    created = await sign_up(edge)
    assert created.status_code == 200, created.text
    user = created.json()["user"]
    tokens = (await login(edge, user["username"])).json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    result: User = user | {"headers": headers, "refreshToken": tokens["refreshToken"]}
    return result
