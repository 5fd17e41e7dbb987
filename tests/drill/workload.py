"""Writes of every kind through the edge, each recorded with the wall-clock time
the system acknowledged it (a 200), so a restore can be checked against them."""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

PASSWORD = "drill password 1"
# Share of each write in the traffic.
MIX = {"tweet": 0.25, "edit": 0.10, "like": 0.15, "retweet": 0.10, "follow": 0.10,
       "dm": 0.15, "media": 0.05, "signup": 0.10}


@dataclass
class User:
    user_id: str
    username: str
    headers: dict[str, str]
    acked: float


@dataclass(frozen=True)
class Write:
    kind: str
    acked: float  # time.time() when the 200 arrived
    actor: str  # user id
    target: str  # tweet, user, message or media id
    detail: str = ""  # an edit's content, a DM's peer, a media's sha256
    sent: float = 0.0  # time.time() when the request was sent (edits)


@dataclass
class Ledger:
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    users: list[User] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    tweets: dict[str, str] = field(default_factory=dict)  # tweet id -> author
    # Requests not acknowledged, by HTTP status (0: no answer): nothing is expected
    # of them, but a restore drill should show what the traffic met.
    failures: Counter[int] = field(default_factory=Counter)

    def add(self, write: Write) -> None:
        self.writes.append(write)


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (seed % 256, (seed // 256) % 256, 90)).save(out, "PNG")
    return out.getvalue()


class Traffic:
    def __init__(self, edge: httpx.AsyncClient, ledger: Ledger, rng: random.Random) -> None:
        self._edge, self._ledger, self._rng = edge, ledger, rng
        self._n = 0

    async def sign_up(self) -> None:
        self._n += 1
        name = f"dr{self._ledger.run}{self._n}"
        r = await self._edge.post("/v1/users", json={"username": name, "password": PASSWORD,
                                                     "email": f"{name}@drill.example"})
        if r.status_code != 200:
            self._ledger.failures[r.status_code] += 1
            return
        acked = time.time()
        user_id = r.json()["user"]["userId"]
        r = await self._edge.post("/v1/auth/login", json={"username": name,
                                                          "password": PASSWORD})
        r.raise_for_status()
        headers = {"authorization": f"Bearer {r.json()['accessToken']}"}
        self._ledger.users.append(User(user_id, name, headers, acked))
        self._ledger.add(Write("user", acked, user_id, user_id, name))

    async def run(self, stop: asyncio.Event) -> None:
        ops, weights = list(MIX), list(MIX.values())
        while not stop.is_set():
            op = self._rng.choices(ops, weights)[0]
            try:
                await getattr(self, f"_{op}")()
            except httpx.HTTPError:
                self._ledger.failures[0] += 1

    def _two(self) -> tuple[User, User]:
        a, b = self._rng.sample(self._ledger.users, 2)
        return a, b

    async def _ok(self, method: str, path: str, user: User,
                  body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        r = await self._edge.request(method, path, json=body, headers=user.headers)
        if r.status_code != 200:
            self._ledger.failures[r.status_code] += 1
            return None
        answer: dict[str, Any] = r.json()
        return answer

    async def _signup(self) -> None:
        await self.sign_up()

    async def _tweet(self) -> None:
        author = self._rng.choice(self._ledger.users)
        content = f"drill {self._ledger.run} {uuid.uuid4().hex[:12]}"
        if answer := await self._ok("POST", "/v1/tweets", author, {"content": content}):
            tweet_id = answer["tweet"]["tweetId"]
            self._ledger.tweets[tweet_id] = author.user_id
            self._ledger.add(Write("tweet", time.time(), author.user_id, tweet_id, content))

    def _some_tweet(self) -> tuple[str, str] | None:
        if not self._ledger.tweets:
            return None
        return self._rng.choice(list(self._ledger.tweets.items())[-100:])

    async def _edit(self) -> None:
        if not (picked := self._some_tweet()):
            return
        tweet_id, author_id = picked
        author = next(u for u in self._ledger.users if u.user_id == author_id)
        content = f"drill {self._ledger.run} edited {uuid.uuid4().hex[:12]}"
        sent = time.time()
        if await self._ok("PATCH", f"/v1/tweets/{tweet_id}", author, {"content": content}):
            self._ledger.add(Write("edit", time.time(), author_id, tweet_id, content, sent))

    async def _engage(self, kind: str) -> None:
        if not (picked := self._some_tweet()):
            return
        tweet_id, author_id = picked
        user = self._rng.choice([u for u in self._ledger.users if u.user_id != author_id])
        if await self._ok("POST", f"/v1/tweets/{tweet_id}/{kind}", user):
            self._ledger.add(Write(kind, time.time(), user.user_id, tweet_id, author_id))

    async def _like(self) -> None:
        await self._engage("like")

    async def _retweet(self) -> None:
        await self._engage("retweet")

    async def _follow(self) -> None:
        fan, star = self._two()
        if await self._ok("POST", f"/v1/users/{fan.user_id}/follow", fan,
                          {"targetUserId": star.user_id}):
            self._ledger.add(Write("follow", time.time(), fan.user_id, star.user_id))

    async def _dm(self) -> None:
        sender, peer = self._two()
        body = {"recipientUserId": peer.user_id, "content": f"dm {uuid.uuid4().hex[:10]}"}
        if answer := await self._ok("POST", "/v1/messages", sender, body):
            self._ledger.add(Write("dm", time.time(), sender.user_id,
                                   answer["message"]["messageId"], peer.user_id))

    async def _media(self) -> None:
        owner = self._rng.choice(self._ledger.users)
        data = png(self._rng.randrange(1 << 16))
        started = await self._ok("POST", "/v1/media", owner,
                                 {"contentType": "image/png", "sizeBytes": len(data)})
        if not started:
            return
        put = await self._edge.request(started["uploadMethod"], started["uploadUrl"],
                                       content=data, headers=started["uploadHeaders"])
        if put.status_code != 200:
            self._ledger.failures[put.status_code] += 1
            return
        media_id = started["mediaId"]
        if not await self._ok("POST", f"/v1/media/{media_id}/complete", owner, {}):
            return
        acked = time.time()
        stored = await media_bytes(self._edge, owner, media_id)
        self._ledger.add(Write("media", acked, owner.user_id, media_id,
                               hashlib.sha256(stored).hexdigest()))


async def media_bytes(edge: httpx.AsyncClient, owner: User, media_id: str) -> bytes:
    r = await edge.get(f"/v1/media/{media_id}", headers=owner.headers)
    r.raise_for_status()
    got = await edge.get(r.json()["media"]["downloadUrl"])
    got.raise_for_status()
    return got.content
