"""In memory: the search service's backend (services/search/backend.py
SearchBackend) recording every write, and trends. (The peers a search asks are
tests/fakes/peers.py's.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.search.backend import (
    Engagement,
    Rebuild,
    SearchBackend,
    Semantics,
    TweetDoc,
    TweetFilter,
    UserDoc,
)
from services.search.trends import TrendCount, Trends
from services.shared.resilience.health import Required


class FakeSearchBackend(SearchBackend):
    """Writes are recorded; searches answer from `tweet_hits`/`user_hits`, paged
    by an offset cursor `o:<n>` (anything else is another backend's: ValueError)."""

    def __init__(self, batch_size: int = 1000) -> None:
        self.semantics = Semantics(typos=False, prefix=False, stemming=False)  # no matching
        self.batch_size = batch_size
        self.writes: list[tuple[str, object]] = []
        self.tweets: dict[int, TweetDoc] = {}
        self.engagement: dict[int, Engagement] = {}
        self.users: dict[int, UserDoc] = {}
        self.followers: dict[int, int] = {}
        self.tweet_hits: list[int] = []
        self.user_hits: list[UserDoc] = []
        self.filters: list[TweetFilter] = []

    async def upsert_tweets(self, docs: Sequence[TweetDoc]) -> None:
        self.writes.append(("tweets", list(docs)))
        self.tweets |= {d.tweet_id: d for d in docs}

    async def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        self.writes.append(("deletes", list(tweet_ids)))
        for t in tweet_ids:
            self.tweets.pop(t, None)

    async def set_engagement(self, counts: Mapping[int, Engagement]) -> None:
        self.writes.append(("engagement", dict(counts)))
        self.engagement |= counts

    async def upsert_users(self, docs: Sequence[UserDoc]) -> None:
        self.writes.append(("users", list(docs)))
        self.users |= {d.user_id: d for d in docs}

    async def set_follower_counts(self, counts: Mapping[int, int]) -> None:
        self.writes.append(("followers", dict(counts)))
        self.followers |= counts

    async def search_tweets(self, query: TweetFilter, cursor: str | None,
                            limit: int) -> tuple[list[int], str | None]:
        self.filters.append(query)
        start = _offset(cursor)
        page = self.tweet_hits[start:start + limit]
        more = start + limit < len(self.tweet_hits)
        return page, f"o:{start + limit}" if more else None

    async def search_users(self, q: str, cursor: str | None,
                           limit: int) -> tuple[list[UserDoc], str | None]:
        start = _offset(cursor)
        page = self.user_hits[start:start + limit]
        return page, f"o:{start + limit}" if start + limit < len(self.user_hits) else None

    async def rebuild(self) -> Rebuild:
        raise NotImplementedError("rebuilds are tested against the real backends")

    def required(self) -> Required:
        raise NotImplementedError("health is tested against the real backends")

    async def close(self) -> None:
        pass


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    kind, _, n = cursor.partition(":")
    if kind != "o":
        raise ValueError(f"not this backend's cursor: {cursor!r}")
    return int(n)


class FakeTrends(Trends):
    """Records what is counted; `top` answers from `tops` by place."""

    def __init__(self, window_minutes: int = 60) -> None:
        self.window_minutes = window_minutes
        self.recorded: list[tuple[list[str], int, float, str]] = []
        self.tops: dict[str, list[TrendCount]] = {}
        self.asked: list[tuple[int, str]] = []

    async def record(self, hashtags: list[str], user_id: int, at_epoch: float, *,
                     place: str = "") -> None:
        self.recorded.append((hashtags, user_id, at_epoch, place))

    async def top(self, limit: int, now: float | None = None, *,
                  place: str = "") -> list[TrendCount]:
        self.asked.append((limit, place))
        return self.tops.get(place, [])[:limit]
