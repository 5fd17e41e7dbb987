"""Benchmark users: signed up once (later runs reuse them) and logged in; or
synthetic ids with access tokens signed by the stack's own key, as the users
service would sign them, when thousands are needed (password sign-ups would
take longer than the run)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx

from services.shared.config import AuthSettings
from services.users.tokens import AccessTokens, Keyring

PASSWORD = "benchmark password"


async def account(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    """{"id", "token"} of user `name`, signing it up first if it does not exist."""
    signup = await http.post("/v1/users", json={"username": name, "password": PASSWORD,
                                                "email": f"{name}@bench.example"})
    if signup.status_code not in (200, 409):  # 409: signed up by an earlier run
        raise RuntimeError(f"sign-up of {name!r}: {signup.status_code} {signup.text}")
    r = await http.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
    r.raise_for_status()
    body = r.json()
    return {"id": body["userId"], "token": body["accessToken"]}


async def accounts(edge_url: str, prefix: str, count: int) -> list[dict[str, str]]:
    """`count` users named <prefix><n>, eight sign-ups at a time (argon2 is slow)."""
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=edge_url, timeout=60) as http:
        async def one(i: int) -> dict[str, str]:
            async with gate:
                return await account(http, f"{prefix}{i}")
        return await asyncio.gather(*(one(i) for i in range(count)))


def synthetic_tokens(env: dict[str, str], count: int) -> list[str]:
    """Access tokens of `count` user ids no real user has."""
    settings = AuthSettings()
    keyring = Keyring.load(Path(env.get("AUTH_KEYS_DIR", ".data/keys")))
    tokens = AccessTokens(keyring, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                          ttl_seconds=3600)
    first = 7 * 10**17 + random.randrange(10**15)
    return [tokens.issue(first + n, session_id=0) for n in range(count)]
