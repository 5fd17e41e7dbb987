"""The search backend interface, shared by the PostgreSQL full-text backend
(single machine) and the Meilisearch backend (production)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.shared.resilience.health import Required


@dataclass(frozen=True)
class TweetDoc:
    tweet_id: int
    author_id: int
    content: str
    hashtags: Sequence[str]
    mention_ids: Sequence[int]
    created_at: datetime
    revision: int = 0
    # Counts a rebuild indexes with the tweet; live upserts keep the indexed ones.
    likes: int = 0
    retweets: int = 0


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


@dataclass(frozen=True)
class Semantics:
    """Where the backends' matching differs: each states its own, and the
    contract tests check each backend against what it states."""

    typos: bool  # a query word of 5+ letters matches with one typo (9+: two)
    prefix: bool  # the query's last word also matches the longer words it begins
    stemming: bool  # a word matches its other English forms (jump, jumping)


class Rebuild(Protocol):
    """A new index filled beside the live one, then swapped in at once."""

    async def add_tweets(self, docs: Sequence[TweetDoc]) -> None: ...

    async def add_users(self, docs: Sequence[UserDoc]) -> None:
        """Profiles with their follower counts."""

    async def swap(self) -> None:
        """Makes the new index the live one and drops the old one."""

    async def discard(self) -> None: ...


class SearchBackend(Protocol):
    semantics: Semantics
    # How many changes the indexer gathers into one write.
    batch_size: int

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

    async def rebuild(self) -> Rebuild:
        """Starts a rebuild (dropping the remains of an unfinished one)."""

    def required(self) -> Required:
        """The index store as a store the query process cannot serve without
        (services/shared/resilience/health.py)."""
        ...

    async def close(self) -> None: ...
