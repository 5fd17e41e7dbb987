"""Benchmark users: signed up once (later runs reuse them) and logged in."""

from __future__ import annotations

import asyncio

import httpx

PASSWORD = "benchmark password"


async def account(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    """{"id", "token"} of user `name`, signing it up first if it does not exist."""
    await http.post("/v1/users", json={"username": name, "password": PASSWORD,
                                       "email": f"{name}@bench.example"})
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
