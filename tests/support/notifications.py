"""Notifications through the edge: the calls the e2e tests and the benchmark
share, and waits for the worker to have made (or taken back) a group."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.users import User
from tests.support.wait import eventually

# The notifications worker's durable consumer (services/notifications/worker.py).
NOTIFICATIONS = "notifications"

Group = dict[str, Any]


async def groups(edge: httpx.AsyncClient, user: User, **params: Any) -> dict[str, Any]:
    """One page of the user's notification groups (the whole JSON body)."""
    r = await edge.get("/v1/notifications", params=params, headers=user["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def unread(edge: httpx.AsyncClient, user: User) -> int:
    r = await edge.get("/v1/notifications/unread-count", headers=user["headers"])
    assert r.status_code == 200, r.text
    return int(r.json().get("unreadCount", 0))


async def mark_read(edge: httpx.AsyncClient, user: User, up_to: str = "") -> httpx.Response:
    body = {"upToNotificationId": up_to} if up_to else {}
    return await edge.post("/v1/notifications/read", json=body, headers=user["headers"])


def find(found: list[Group], kind: str, target_id: str) -> Group | None:
    """The group of a kind ("LIKE") on a target, if listed."""
    return next((g for g in found if g["kind"] == f"NOTIFICATION_KIND_{kind}"
                 and g["targetId"] == target_id), None)


async def group_when(edge: httpx.AsyncClient, user: User, kind: str, target_id: str,
                     count: int, within: float = 10.0) -> Group:
    """The user's group of `kind` on `target_id` once it has `count` actors."""
    async def probe() -> Group | None:
        group = find((await groups(edge, user, pageSize=100)).get("groups", []), kind,
                     target_id)
        return group if group and group["actorCount"] == count else None
    return await eventually(probe, within=within,
                            what=f"a {kind} group of {count} on {target_id}")


async def gone(edge: httpx.AsyncClient, user: User, kind: str, target_id: str,
               within: float = 10.0) -> None:
    async def probe() -> bool:
        found = (await groups(edge, user, pageSize=100)).get("groups", [])
        return find(found, kind, target_id) is None
    await eventually(probe, within=within, what=f"the {kind} group on {target_id} gone")
