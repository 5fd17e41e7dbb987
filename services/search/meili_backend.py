"""Meilisearch backend (production): typo-tolerant search over content,
username and hashtags; filterable hashtags, mentions, author and time;
sortable by time and engagement.

Meilisearch cannot be installed on our development machines, so this backend
is exercised by the contract tests only when MEILISEARCH_URL points at a real
server (see the README). Meilisearch pages by offset, which is what its API
offers; the offset stays inside our opaque page token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import meilisearch

from services.search.backend import Engagement, TweetDoc, TweetFilter, UserDoc
from services.shared.cursor import trim

TWEETS, USERS, DELETED = "tweets", "users", "deleted_tweets"


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid filter string literal


class MeilisearchBackend:
    def __init__(self, url: str, api_key: str | None = None) -> None:
        self._client = meilisearch.Client(url, api_key)
        self._ready = False

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def setup(self) -> None:
        """Creates the indexes and their settings (idempotent)."""
        if self._ready:
            return
        tasks = [
            await self._call(self._client.create_index, TWEETS, {"primaryKey": "tweet_id"}),
            await self._call(self._client.create_index, USERS, {"primaryKey": "user_id"}),
            await self._call(self._client.create_index, DELETED, {"primaryKey": "tweet_id"}),
        ]
        tasks.append(await self._call(self._client.index(TWEETS).update_settings, {
            "searchableAttributes": ["content", "author_username", "hashtags"],
            "filterableAttributes": ["hashtags", "mention_ids", "author_id", "created_at",
                                     "revision"],
            "sortableAttributes": ["created_at", "engagement"],
            "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness",
                             "engagement:desc", "created_at:desc"],
        }))
        tasks.append(await self._call(self._client.index(USERS).update_settings, {
            "searchableAttributes": ["username", "display_name", "bio"],
            "sortableAttributes": ["follower_count"],
            "rankingRules": ["words", "typo", "proximity", "attribute", "exactness",
                             "follower_count:desc"],
        }))
        for task in tasks:
            await self._call(self._client.wait_for_task, task.task_uid, timeout_in_ms=30_000)
        self._ready = True

    async def _wait(self, task: Any) -> None:
        await self._call(self._client.wait_for_task, task.task_uid, timeout_in_ms=30_000)

    async def upsert_tweets(self, docs: Sequence[TweetDoc]) -> None:
        if not docs:
            return
        await self.setup()
        ids = [d.tweet_id for d in docs]
        deleted = await self._call(self._client.index(DELETED).get_documents,
                                   {"filter": f"tweet_id IN {ids}", "limit": len(ids)})
        gone = {int(d.tweet_id) for d in deleted.results}
        existing = await self._call(self._client.index(TWEETS).get_documents, {
            "filter": f"tweet_id IN {ids}", "limit": len(ids),
            "fields": ["tweet_id", "revision"]})
        revisions = {int(d.tweet_id): int(d.revision) for d in existing.results}
        fresh = [d for d in docs
                 if d.tweet_id not in gone and revisions.get(d.tweet_id, -1) <= d.revision]
        if fresh:
            await self._wait(await self._call(self._client.index(TWEETS).update_documents, [{
                "tweet_id": d.tweet_id, "author_id": d.author_id, "content": d.content,
                "hashtags": list(d.hashtags), "mention_ids": list(d.mention_ids),
                "created_at": int(d.created_at.timestamp()), "revision": d.revision,
            } for d in fresh]))

    async def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return
        await self.setup()
        await self._wait(await self._call(self._client.index(DELETED).add_documents,
                                          [{"tweet_id": i} for i in tweet_ids]))
        await self._wait(await self._call(self._client.index(TWEETS).delete_documents,
                                          list(tweet_ids)))

    async def set_engagement(self, counts: Mapping[int, Engagement]) -> None:
        if not counts:
            return
        await self.setup()
        docs = []
        for tweet_id, e in counts.items():
            doc: dict[str, Any] = {"tweet_id": tweet_id}
            if e.like_count is not None:
                doc["like_count"] = e.like_count
            if e.retweet_count is not None:
                doc["retweet_count"] = e.retweet_count
            doc["engagement"] = (e.like_count or 0) + 2 * (e.retweet_count or 0)
            docs.append(doc)
        # skip_creation: engagement for a tweet not indexed (or deleted) is dropped.
        await self._wait(await self._call(self._client.index(TWEETS).update_documents, docs,
                                          skip_creation=True))

    async def upsert_users(self, docs: Sequence[UserDoc]) -> None:
        if not docs:
            return
        await self.setup()
        await self._wait(await self._call(self._client.index(USERS).update_documents, [{
            "user_id": d.user_id, "username": d.username, "display_name": d.display_name,
            "bio": d.bio, "profile_picture_url": d.profile_picture_url,
        } for d in docs]))

    async def set_follower_counts(self, counts: Mapping[int, int]) -> None:
        if not counts:
            return
        await self.setup()
        await self._wait(await self._call(
            self._client.index(USERS).update_documents,
            [{"user_id": u, "follower_count": c} for u, c in counts.items()],
            skip_creation=True))

    async def search_tweets(self, query: TweetFilter, cursor: str | None,
                            limit: int) -> tuple[list[int], str | None]:
        await self.setup()
        offset = int(cursor or 0)
        filters = [f"hashtags = {_quote(h)}" for h in query.hashtags]
        filters += [f"mention_ids = {m}" for m in query.mention_ids]
        if query.author_ids:
            filters.append(f"author_id IN {list(query.author_ids)}")
        params: dict[str, Any] = {"limit": limit + 1, "offset": offset,
                                  "attributesToRetrieve": ["tweet_id"], "filter": filters}
        if not query.text.strip():
            params["sort"] = ["created_at:desc"]
        result = await self._call(self._client.index(TWEETS).search, query.text, params)
        ids, last = trim([int(h["tweet_id"]) for h in result["hits"]], limit)
        return ids, str(offset + limit) if last is not None else None

    async def search_users(self, q: str, cursor: str | None,
                           limit: int) -> tuple[list[UserDoc], str | None]:
        await self.setup()
        offset = int(cursor or 0)
        result = await self._call(self._client.index(USERS).search, q.lstrip("@"),
                                  {"limit": limit + 1, "offset": offset})
        users = [UserDoc(int(h["user_id"]), h["username"], h.get("display_name", ""),
                         h.get("bio", ""), h.get("profile_picture_url", ""),
                         int(h.get("follower_count", 0))) for h in result["hits"]]
        page, last = trim(users, limit)
        return page, str(offset + limit) if last is not None else None

    async def close(self) -> None:
        return None
