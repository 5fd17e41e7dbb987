"""The search backend interface, shared by the PostgreSQL full-text backend
(single machine) and the Meilisearch backend (production)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TweetDoc:
    tweet_id: int
    author_id: int
    content: str
    hashtags: Sequence[str]
    mention_ids: Sequence[int]
    created_at: datetime
    revision: int = 0


@dataclass(frozen=True)
class UserDoc:
    user_id: int
    username: str
    display_name: str = ""
    bio: str = ""
    profile_picture_url: str = ""
    follower_count: int = 0


@dataclass(frozen=True)
class TweetFilter:
    """A parsed query with usernames already resolved to ids."""

    text: str = ""  # web-search syntax: words and "quoted phrases"
    hashtags: Sequence[str] = field(default_factory=list)
    mention_ids: Sequence[int] = field(default_factory=list)
    author_ids: Sequence[int] = field(default_factory=list)


@dataclass(frozen=True)
class Engagement:
    like_count: int | None = None
    retweet_count: int | None = None


class SearchBackend(Protocol):
    async def upsert_tweets(self, docs: Sequence[TweetDoc]) -> None:
        """Indexes tweets; never resurrects a deleted one nor applies an older revision."""

    async def delete_tweets(self, tweet_ids: Sequence[int]) -> None: ...

    async def set_engagement(self, counts: Mapping[int, Engagement]) -> None: ...

    async def upsert_users(self, docs: Sequence[UserDoc]) -> None:
        """Indexes profiles; keeps the follower count already indexed."""

    async def set_follower_counts(self, counts: Mapping[int, int]) -> None: ...

    async def search_tweets(self, query: TweetFilter, cursor: str | None,
                            limit: int) -> tuple[list[int], str | None]:
        """Matching tweet ids, best first; and a cursor for the next page, if any."""

    async def search_users(self, q: str, cursor: str | None,
                           limit: int) -> tuple[list[UserDoc], str | None]: ...

    async def close(self) -> None: ...
