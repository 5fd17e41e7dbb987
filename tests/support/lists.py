"""Lists through the edge: the calls the list and notification e2e tests share."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.users import User


async def create_list(edge: httpx.AsyncClient, owner: User, *, private: bool = False,
                      name: str = "reading") -> dict[str, Any]:
    r = await edge.post("/v1/lists", headers=owner["headers"],
                        json={"name": name, "description": "good people", "private": private})
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()["list"]
    return created


async def add(edge: httpx.AsyncClient, owner: User, list_id: str, member: User) -> httpx.Response:
    return await edge.post(f"/v1/lists/{list_id}/members", headers=owner["headers"],
                           json={"userId": member["userId"]})
