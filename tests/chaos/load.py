"""Steady open-loop traffic through the edge, and a record of every answer.

Open loop: requests start at a fixed rate whether or not earlier ones have
answered, as real users do; a slow or dead dependency therefore shows up as
errors and latency, not as a load generator that politely slowed down.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "chaos password 1"
# Share of each operation in the traffic.
MIX = {"post": 0.25, "like": 0.15, "follow": 0.05, "home": 0.35, "read": 0.20}


@dataclass
class User:
    user_id: str
    headers: dict[str, str]
    following: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Answer:
    op: str
    sent: float  # monotonic
    status: int  # 0: no answer at all (connection error, client timeout)
    seconds: float


@dataclass(frozen=True)
class Post:
    tweet_id: str
    author: str
    content: str
    token: str  # a word only this post has, to find it by search
    sent: float


@dataclass(frozen=True)
class Like:
    tweet_id: str
    user: str
    sent: float


@dataclass(frozen=True)
class Follow:
    follower: str
    followee: str
    sent: float


@dataclass
class Ledger:
    """Every answer, and every write the system acknowledged with a 200."""

    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    answers: list[Answer] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    likes: list[Like] = field(default_factory=list)
    follows: list[Follow] = field(default_factory=list)


async def sign_up(edge: httpx.AsyncClient, name: str) -> User:
    r = await edge.post("/v1/users", json={"username": name, "password": PASSWORD,
                                           "email": f"{name}@chaos.example"})
    r.raise_for_status()
    r = await edge.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
    r.raise_for_status()
    body = r.json()
    return User(body["userId"], {"authorization": f"Bearer {body['accessToken']}"})


async def population(edge: httpx.AsyncClient, ledger: Ledger, users: int,
                     follows_each: int, rng: random.Random) -> list[User]:
    """`users` new accounts, each following `follows_each` others."""
    gate = asyncio.Semaphore(8)  # argon2 makes sign-up slow on purpose

    async def one(n: int) -> User:
        async with gate:
            return await sign_up(edge, f"ch{ledger.run}{n}")  # usernames: 15 at most

    people = list(await asyncio.gather(*(one(n) for n in range(users))))
    for user in people:
        for other in rng.sample([p for p in people if p is not user], follows_each):
            r = await edge.post(f"/v1/users/{user.user_id}/follow",
                                json={"targetUserId": other.user_id}, headers=user.headers)
            r.raise_for_status()
            user.following.add(other.user_id)
            ledger.follows.append(Follow(user.user_id, other.user_id, time.monotonic()))
    return people


class Traffic:
    """Posts, likes, follows and reads at `rate` requests a second."""

    def __init__(self, edge: httpx.AsyncClient, users: list[User], ledger: Ledger,
                 rate: float, rng: random.Random) -> None:
        self._edge, self._users, self._ledger = edge, users, ledger
        self._rate, self._rng = rate, rng
        self._in_flight: set[asyncio.Task[None]] = set()
        self._ops: dict[str, Callable[[], Coroutine[None, None, None]]] = {
            "post": self._post, "like": self._like, "follow": self._follow,
            "home": self._home, "read": self._read}

    async def run(self, stop: asyncio.Event) -> None:
        interval, next_at = 1.0 / self._rate, time.monotonic()
        ops, weights = list(MIX), list(MIX.values())
        while not stop.is_set():
            op = self._rng.choices(ops, weights)[0]
            task: asyncio.Task[None] = asyncio.create_task(self._ops[op]())
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))  # the open-loop pace
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def _request(self, op: str, method: str, path: str, user: User,
                       body: dict[str, Any] | None = None) -> httpx.Response | None:
        sent = time.monotonic()
        try:
            r = await self._edge.request(method, path, json=body, headers=user.headers)
        except httpx.HTTPError:
            self._ledger.answers.append(Answer(op, sent, 0, time.monotonic() - sent))
            return None
        self._ledger.answers.append(Answer(op, sent, r.status_code, time.monotonic() - sent))
        return r

    async def _post(self) -> None:
        author = self._rng.choice(self._users)
        token = f"c{self._ledger.run}p{uuid.uuid4().hex[:10]}"
        content = f"chaos post {token}"
        sent = time.monotonic()
        r = await self._request("post", "POST", "/v1/tweets", author, {"content": content})
        if r is not None and r.status_code == 200:
            self._ledger.posts.append(Post(r.json()["tweet"]["tweetId"], author.user_id,
                                           content, token, sent))

    async def _like(self) -> None:
        if not self._ledger.posts:
            return
        user = self._rng.choice(self._users)
        post = self._rng.choice(self._ledger.posts[-200:])
        sent = time.monotonic()
        r = await self._request("like", "POST", f"/v1/tweets/{post.tweet_id}/like", user)
        if r is not None and r.status_code == 200:
            self._ledger.likes.append(Like(post.tweet_id, user.user_id, sent))

    async def _follow(self) -> None:
        user = self._rng.choice(self._users)
        candidates = [u for u in self._users
                      if u is not user and u.user_id not in user.following]
        if not candidates:
            return
        other = self._rng.choice(candidates)
        user.following.add(other.user_id)  # no second attempt at the same pair
        sent = time.monotonic()
        r = await self._request("follow", "POST", f"/v1/users/{user.user_id}/follow", user,
                                {"targetUserId": other.user_id})
        if r is not None and r.status_code == 200:
            self._ledger.follows.append(Follow(user.user_id, other.user_id, sent))

    async def _home(self) -> None:
        user = self._rng.choice(self._users)
        await self._request("home", "GET", f"/v1/timeline/{user.user_id}", user)

    async def _read(self) -> None:
        if not self._ledger.posts:
            return
        user = self._rng.choice(self._users)
        post = self._rng.choice(self._ledger.posts[-500:])
        await self._request("read", "GET", f"/v1/tweets/{post.tweet_id}", user)
