"""After the faults: is every acknowledged write where it should be? A post in
the store, in its author's tweets, in every follower's home timeline and in
search; a like on its tweet; a follow in the follower's list; and nothing in a
dead-letter subject. Fanout and indexing are asynchronous, so missing writes
are looked for again until `settle` seconds have passed."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from services.shared.messaging import events as jetstream
from services.timeline.settings import TimelineSettings
from tests.chaos.load import Follow, Ledger, Like, Post, User

Write = Post | Like | Follow
# A home timeline keeps its newest `timeline_capacity` entries; a long run
# (TOPOLOGY=ha holds each node down for minutes) posts more than that into
# one. Posts near the edge may be ordered differently by send time and by id,
# so only the newest nine tenths are expected.
HOME_KEPT = int(TimelineSettings.model_fields["timeline_capacity"].default * 0.9)


async def dead_letters(nats_url: str) -> int:
    """Events in the dead-letter subjects of the stream."""
    nc, js = await jetstream.connect(nats_url, name="chaos")
    try:
        info = await js.stream_info(jetstream.STREAM, subjects_filter="twitter.dlq.>")
        return sum((info.state.subjects or {}).values())
    finally:
        await nc.close()


async def _pages(edge: httpx.AsyncClient, path: str, user: User, key: str,
                 item_id: Callable[[dict[str, Any]], str], params: dict[str, Any] | None = None,
                 ) -> set[str]:
    """Every id of a paged list."""
    found: set[str] = set()
    token = ""
    while True:
        query = {"pageSize": 100, **(params or {})} | ({"pageToken": token} if token else {})
        r = await edge.get(path, params=query, headers=user.headers)
        r.raise_for_status()
        body = r.json()
        found |= {item_id(item) for item in body.get(key, [])}
        token = body.get("nextPageToken", "")
        if not token:
            return found


def _tweet_id(entry: dict[str, Any]) -> str:
    return str((entry.get("tweet") or entry)["tweetId"])


class Checker:
    def __init__(self, edge: httpx.AsyncClient, users: list[User], ledger: Ledger) -> None:
        self._edge, self._ledger = edge, ledger
        self._users = {u.user_id: u for u in users}
        self._gate = asyncio.Semaphore(16)

    async def missing(self, writes: Iterable[Write]) -> list[tuple[Write, str]]:
        """The writes not (yet) found, each with where it is missing."""
        writes = list(writes)
        posts = [w for w in writes if isinstance(w, Post)]
        authors = {p.author for p in posts}
        timelines = {f.follower for f in self._ledger.follows}
        tweets_of = dict(zip(authors, await asyncio.gather(*(
            self._list(f"/v1/users/{a}/tweets", a, "tweets") for a in authors)), strict=True))
        home_of = dict(zip(timelines, await asyncio.gather(*(
            self._list(f"/v1/timeline/{u}", u, "entries") for u in timelines)), strict=True))
        following_of = {u: await self._list(f"/v1/users/{u}/following", u, "following",
                                            "userId")
                        for u in {w.follower for w in writes if isinstance(w, Follow)}}
        followers: dict[str, list[Follow]] = defaultdict(list)
        for f in self._ledger.follows:
            followers[f.followee].append(f)
        kept = self._kept_in_homes(followers)

        async def check(write: Write) -> list[tuple[Write, str]]:
            async with self._gate:
                if isinstance(write, Post):
                    return await self._post(write, tweets_of[write.author], home_of,
                                            followers[write.author], kept)
                if isinstance(write, Like):
                    return await self._like(write)
                ok = write.followee in following_of[write.follower]
                return [] if ok else [(write, "following list")]

        return [m for found in await asyncio.gather(*(check(w) for w in writes)) for m in found]

    async def _list(self, path: str, user_id: str, key: str,
                    field: str = "tweetId") -> set[str]:
        async with self._gate:
            item_id = _tweet_id if field == "tweetId" else (
                lambda item: str(item["user"][field]))
            return await _pages(self._edge, path, self._users[user_id], key, item_id)

    def _kept_in_homes(self, followers: dict[str, list[Follow]]) -> dict[str, set[str]]:
        """Follower -> the posts their home timeline still holds: the newest
        HOME_KEPT of those by everyone they follow (a follow also brings the
        followee's recent posts in, so the ones from before it count too)."""
        into: dict[str, list[Post]] = defaultdict(list)
        for post in self._ledger.posts:
            for follow in followers[post.author]:
                into[follow.follower].append(post)
        return {user: {p.tweet_id for p in sorted(posts, key=lambda p: p.sent)[-HOME_KEPT:]}
                for user, posts in into.items()}

    async def _post(self, post: Post, authors_tweets: set[str], home_of: dict[str, set[str]],
                    followers: list[Follow], kept: dict[str, set[str]],
                    ) -> list[tuple[Write, str]]:
        lost: list[tuple[Write, str]] = []
        reader = self._users[post.author]
        r = await self._edge.get(f"/v1/tweets/{post.tweet_id}", headers=reader.headers)
        if r.status_code != 200 or r.json()["tweet"]["content"] != post.content:
            lost.append((post, f"store ({r.status_code})"))
        if post.tweet_id not in authors_tweets:
            lost.append((post, "author's tweets"))
        for follow in followers:  # followers from before the post was sent
            if follow.sent < post.sent and post.tweet_id in kept[follow.follower] \
                    and post.tweet_id not in home_of[follow.follower]:
                lost.append((post, f"home timeline of {follow.follower}"))
        r = await self._edge.get("/v1/search/tweets", params={"q": post.token},
                                 headers=reader.headers)
        if r.status_code != 200 or post.tweet_id not in {
                _tweet_id(t) for t in r.json().get("tweets", [])}:
            lost.append((post, "search"))
        return lost

    async def _like(self, like: Like) -> list[tuple[Write, str]]:
        r = await self._edge.get(f"/v1/tweets/{like.tweet_id}",
                                 headers=self._users[like.user].headers)
        ok = r.status_code == 200 and r.json()["tweet"].get("likedByViewer") is True
        return [] if ok else [(like, "liked by its user")]


async def lost_writes(checker: Checker, ledger: Ledger, settle: float,
                      progress: Callable[[str], Awaitable[None]] | None = None,
                      ) -> list[tuple[Write, str]]:
    """The acknowledged writes still missing after `settle` seconds of retries."""
    pending: list[Write] = [*ledger.posts, *ledger.likes, *ledger.follows]
    deadline = time.monotonic() + settle
    while True:
        try:
            missing = await checker.missing(pending)
        except (httpx.HTTPStatusError, httpx.TransportError) as exc:
            # A service still recovering from the last fault: "try again",
            # as a client would; only an answer after `settle` is final.
            if isinstance(exc, httpx.HTTPStatusError) and \
                    exc.response.status_code not in (503, 504):
                raise
            if time.monotonic() > deadline:
                raise
            if progress:
                await progress(f"checking paused: {exc!s:.120}")
            await asyncio.sleep(3)
            continue
        if not missing or time.monotonic() > deadline:
            return missing
        if progress:
            await progress(f"{len(missing)} writes not found yet; looking again")
        pending = list(dict.fromkeys(w for w, _ in missing))
        await asyncio.sleep(3)  # between full checks, each one many requests
