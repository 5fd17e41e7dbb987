"""Meilisearch backend (production).

Matching (see `semantics`): every query word must match (`matchingStrategy:
all`, as in PostgreSQL); a word of 5 to 8 letters matches with one typo and of
9 or more with two, never in numbers or hashtags; the last word also matches as
a prefix (so `jump` finds `jumping`, where PostgreSQL stems); "quoted phrases"
match exactly, without typos or prefixes. #tag, @user and from:user are exact
filters.

Ranking and pages: tweets are sorted by hotness (engagement and recency, the
blend PostgreSQL uses, see `ranking`) and then id, a total order stored with the
documents. So pages are keyset pages: the cursor is the last (hotness, id)
served and the next page filters below it. Unlike offsets, nothing is skipped
or repeated while tweets are added (a new tweet sorts above the cursor), and
there is no depth limit (Meilisearch caps offsets at 1,000 hits). Unlike
PostgreSQL, a better text match does not lift a tweet; text only decides
whether it matches. A tweet whose engagement changes mid-pagination may move,
on both backends. Users are ranked by relevance, then followers, and paged by
offset (up to 1,000 results).

Writes: deletes leave a tombstone that writes merge into and never clear, so a
delete is final whatever arrives after it. An upsert reads the indexed revision
first and skips older ones; in one process the tweet writes take turns (read,
write, wait for the task), so a late older edit can never overtake a newer one.
Every write returns once Meilisearch has applied it: the indexer acknowledges
an event only when it is searchable.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from services.search.backend import (
    Engagement,
    Rebuild,
    Semantics,
    TweetDoc,
    TweetFilter,
    UserDoc,
)
from services.search.meili.client import Meili
from services.search.meili.indexes import MeiliRebuild, drop_index, ensure_index
from services.search.meili.schema import (
    TWEET_SORT,
    key,
    tombstone,
    tweet_document,
    tweets_index,
    user_document,
    user_from_hit,
    users_index,
)
from services.search.ranking import hotness
from services.shared.resilience.health import Required

_KEY = re.compile(r"\d{20}")


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid filter string literal


class MeilisearchBackend:
    semantics = Semantics(typos=True, prefix=True, stemming=False)
    # Meilisearch's cost per task is high and per document low: bigger batches.
    batch_size = 5000

    def __init__(self, url: str, api_key: str | None = None, *, prefix: str = "") -> None:
        self._meili = Meili(url, api_key)
        self._tweets = tweets_index(prefix)
        self._users = users_index(prefix)
        self._ready = False
        self._setup_lock = asyncio.Lock()
        self._tweet_writes = asyncio.Lock()

    def required(self) -> Required:
        return Required("search", self._meili.breaker, self._meili.ping)

    @property
    def index_uids(self) -> tuple[str, str]:
        return self._tweets.uid, self._users.uid

    async def setup(self) -> None:
        """Creates the indexes and applies their settings, awaited (idempotent)."""
        async with self._setup_lock:
            if not self._ready:
                for spec in (self._tweets, self._users):
                    await ensure_index(self._meili, spec)
                self._ready = True

    async def _write(self, uid: str, docs: list[dict[str, Any]], *,
                     skip_creation: bool = False) -> None:
        index = self._meili.index(uid)
        info = await self._meili.run(index.update_documents, docs,
                                     skip_creation=skip_creation or None)
        await self._meili.wait(info)

    async def _indexed(self, tweet_ids: Sequence[int], fields: list[str]
                       ) -> dict[int, dict[str, Any]]:
        result = await self._meili.run(self._meili.index(self._tweets.uid).get_documents, {
            "ids": [key(i) for i in tweet_ids], "fields": ["tweet_id", *fields],
            "limit": len(tweet_ids)})
        return {int(d.tweet_id): dict(d) for d in result.results}

    async def upsert_tweets(self, docs: Sequence[TweetDoc]) -> None:
        if not docs:
            return
        await self.setup()
        async with self._tweet_writes:
            indexed = await self._indexed([d.tweet_id for d in docs],
                                          ["revision", "deleted", "like_count", "retweet_count"])
            fresh = []
            for d in docs:
                old = indexed.get(d.tweet_id, {})
                if old.get("deleted") or old.get("revision", -1) > d.revision:
                    continue
                fresh.append(tweet_document(d, old.get("like_count", 0),
                                            old.get("retweet_count", 0)))
            if fresh:
                await self._write(self._tweets.uid, fresh)

    async def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return
        await self.setup()
        await self._write(self._tweets.uid, [tombstone(i) for i in tweet_ids])

    async def set_engagement(self, counts: Mapping[int, Engagement]) -> None:
        if not counts:
            return
        await self.setup()
        async with self._tweet_writes:  # hotness needs both counts: read, then write
            indexed = await self._indexed(list(counts), ["created_ms", "like_count",
                                                         "retweet_count", "deleted"])
            docs = []
            for tweet_id, e in counts.items():
                old = indexed.get(tweet_id)
                if old is None or old.get("deleted") or "created_ms" not in old:
                    continue  # not indexed (yet) or deleted: nothing to rank
                likes = old.get("like_count", 0) if e.like_count is None else e.like_count
                retweets = old.get("retweet_count", 0) if e.retweet_count is None \
                    else e.retweet_count
                docs.append({"tweet_id": key(tweet_id), "like_count": likes,
                             "retweet_count": retweets,
                             "hot": hotness(old["created_ms"], likes, retweets)})
            if docs:
                await self._write(self._tweets.uid, docs, skip_creation=True)

    async def upsert_users(self, docs: Sequence[UserDoc]) -> None:
        if not docs:
            return
        await self.setup()
        await self._write(self._users.uid, [user_document(d) for d in docs])

    async def set_follower_counts(self, counts: Mapping[int, int]) -> None:
        if not counts:
            return
        await self.setup()
        await self._write(self._users.uid,
                          [{"user_id": key(u), "follower_count": c} for u, c in counts.items()],
                          skip_creation=True)

    async def search_tweets(self, query: TweetFilter, cursor: str | None,
                            limit: int) -> tuple[list[int], str | None]:
        await self.setup()
        filters = ["NOT deleted = true"]  # `!=` would also drop documents without the field
        filters += [f"hashtags = {_quote(h)}" for h in query.hashtags]
        filters += [f"mention_ids = {_quote(key(m))}" for m in query.mention_ids]
        if query.author_ids:
            filters.append(f"author_id IN [{', '.join(_quote(key(a)) for a in query.author_ids)}]")
        if cursor:
            hot, last = _decode_cursor(cursor)
            filters.append(f"hot < {hot} OR (hot = {hot} AND tweet_id < {_quote(last)})")
        result = await self._meili.run(self._meili.index(self._tweets.uid).search, query.text, {
            "limit": limit + 1, "filter": filters, "sort": TWEET_SORT,
            "matchingStrategy": "all", "attributesToRetrieve": ["tweet_id", "hot"]})
        hits = result["hits"]
        page = hits[:limit]
        next_cursor = json.dumps([page[-1]["hot"], page[-1]["tweet_id"]]) \
            if len(hits) > limit else None
        return [int(h["tweet_id"]) for h in page], next_cursor

    async def search_users(self, q: str, cursor: str | None,
                           limit: int) -> tuple[list[UserDoc], str | None]:
        await self.setup()
        offset = int(cursor or 0)
        if offset < 0:
            raise ValueError("negative offset")
        result = await self._meili.run(self._meili.index(self._users.uid).search,
                                       q.strip().lstrip("@"),
                                       {"limit": limit + 1, "offset": offset})
        users = [user_from_hit(h) for h in result["hits"]]
        more = len(users) > limit
        return users[:limit], str(offset + limit) if more else None

    async def rebuild(self) -> Rebuild:
        await self.setup()
        rebuild = MeiliRebuild(self._meili, [self._tweets, self._users])
        await rebuild.start()
        return rebuild

    async def drop(self) -> None:
        """Deletes this backend's indexes (benchmarks and tests with a prefix of their own)."""
        for uid in self.index_uids:
            await drop_index(self._meili, uid)
        self._ready = False

    async def close(self) -> None:
        await self._meili.close()


def _decode_cursor(cursor: str) -> tuple[int, str]:
    hot, last = json.loads(cursor)
    if not isinstance(hot, int) or isinstance(hot, bool) or not isinstance(last, str) \
            or not _KEY.fullmatch(last):
        raise ValueError("not a tweet cursor")
    return hot, last
