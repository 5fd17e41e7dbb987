"""After the restore: every write acknowledged before the backup point, read back
through the edge. Notifications are derived by a worker replaying the stream, so
they are waited for; everything else must be there at once."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.drill.workload import PASSWORD, Ledger, User, Write, media_bytes

NOTIFICATION_WAIT = 180.0


@dataclass
class Verdict:
    verified: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)

    def check(self, ok: bool, kind: str, what: str) -> None:
        if ok:
            self.verified[kind] += 1
        else:
            self.missing.append(f"{kind}: {what}")


async def _pages(edge: httpx.AsyncClient, path: str, user: User,
                 key: str) -> AsyncIterator[dict[str, Any]]:
    token = ""
    while True:
        r = await edge.get(path, params={"pageSize": 100, "pageToken": token},
                           headers=user.headers)
        r.raise_for_status()
        body = r.json()
        for item in body.get(key, []):
            yield item
        token = body.get("nextPageToken", "")
        if not token:
            return


async def verify(edge: httpx.AsyncClient, ledger: Ledger, point: float) -> Verdict:
    """Every write acked before `point` (a time.time()) must be there."""
    users = {u.user_id: u for u in ledger.users}
    before = [w for w in ledger.writes if w.acked < point]
    verdict = Verdict()
    for w in before:
        await CHECKS[w.kind](edge, users, w, ledger.writes, verdict)
    await _notifications(edge, users, before, verdict)
    return verdict


async def _user(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
                _after: list[Write], v: Verdict) -> None:
    r = await edge.post("/v1/auth/login", json={"username": w.detail, "password": PASSWORD})
    ok = r.status_code == 200 and r.json()["userId"] == w.target
    if ok:  # fresh tokens: the restored stack's sessions
        users[w.target].headers = {"authorization": f"Bearer {r.json()['accessToken']}"}
    v.check(ok, "users", f"{w.detail} cannot log in ({r.status_code})")


async def _tweet(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
                 writes: list[Write], v: Verdict) -> None:
    r = await edge.get(f"/v1/tweets/{w.target}", headers=users[w.actor].headers)
    # An edit not finished before this one was sent may have replaced it (concurrent
    # edits apply in either order; the restored copy may hold writes made during the
    # backup); one finished before it was sent may not.
    if w.kind == "tweet":
        v.check(r.status_code == 200, "tweets", f"{w.target} answers {r.status_code}")
        return
    later = {e.detail for e in writes
             if e.kind == "edit" and e.target == w.target and e.acked > w.sent}
    content = r.json()["tweet"]["content"] if r.status_code == 200 else None
    v.check(content == w.detail or content in later, "edits",
            f"{w.target} reads {content!r}, not {w.detail!r}")


async def _engaged(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
                   _after: list[Write], v: Verdict) -> None:
    r = await edge.get(f"/v1/tweets/{w.target}", headers=users[w.actor].headers)
    field_ = "likedByViewer" if w.kind == "like" else "retweetedByViewer"
    ok = r.status_code == 200 and r.json()["tweet"].get(field_, False)
    v.check(bool(ok), f"{w.kind}s", f"{w.actor} on {w.target} ({r.status_code})")


async def _follow(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
                  _after: list[Write], v: Verdict) -> None:
    fan = users[w.actor]
    ids = [e["user"]["userId"] async for e in
           _pages(edge, f"/v1/users/{w.actor}/following", fan, "following")]
    v.check(w.target in ids, "follows", f"{w.actor} -> {w.target}")


async def _dm(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
              _after: list[Write], v: Verdict) -> None:
    sender = users[w.actor]
    ids = [m["messageId"] async for m in
           _pages(edge, f"/v1/conversations/{w.detail}/messages", sender, "messages")]
    v.check(w.target in ids, "dms", f"{w.target} from {w.actor}")


async def _media(edge: httpx.AsyncClient, users: dict[str, User], w: Write,
                 _after: list[Write], v: Verdict) -> None:
    try:
        data = await media_bytes(edge, users[w.actor], w.target)
    except httpx.HTTPError as exc:
        v.check(False, "media", f"{w.target}: {exc}")
        return
    v.check(hashlib.sha256(data).hexdigest() == w.detail, "media", f"{w.target} bytes differ")


CHECKS = {"user": _user, "tweet": _tweet, "edit": _tweet, "like": _engaged,
          "retweet": _engaged, "follow": _follow, "dm": _dm, "media": _media}


async def _notifications(edge: httpx.AsyncClient, users: dict[str, User],
                         before: list[Write], v: Verdict) -> None:
    """A follow notifies the followed user; a like or retweet the tweet's author (a
    group per tweet)."""
    wanted: dict[str, set[str]] = {}
    for w in before:
        if w.kind == "follow":
            wanted.setdefault(w.target, set()).add("follow")
        elif w.kind in ("like", "retweet"):
            wanted.setdefault(w.detail, set()).add(f"{w.kind}:{w.target}")
    deadline = time.monotonic() + NOTIFICATION_WAIT
    for user_id, expected in wanted.items():
        while True:
            have = set()
            async for g in _pages(edge, "/v1/notifications", users[user_id], "groups"):
                kind = g["kind"].removeprefix("NOTIFICATION_KIND_").lower()
                have.add("follow" if kind == "follow" else f"{kind}:{g.get('targetId')}")
            lacking = expected - have
            if not lacking or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        for item in expected:
            v.check(item not in lacking, "notifications", f"{user_id}: {item}")
