"""Search queries (service layer): parse, resolve usernames, ask the backend,
hydrate tweets from the tweets service (the source of truth)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import NamedTuple

from twitter.tweets.v1 import tweets_pb2

from services.search.backend import SearchBackend, TweetFilter, UserDoc
from services.search.query import check_characters, parse
from services.search.trends import TrendCount, Trends
from services.shared.errors import InvalidArgument
from services.shared.fields.places import normalize_place
from services.shared.paging.cursor import ListCursor, PageRequest
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.users.client.relations import RelationsCache, visible

MAX_TRENDS = 50
MAX_USER_QUERY = 100  # a name or a few words, unlike a tweet query


class BackendCursor(NamedTuple):
    """Where the backend left off, in its own format; the token binds it to the query."""

    state: str


SEARCH_TWEETS = ListCursor("search.tweets", BackendCursor)
SEARCH_USERS = ListCursor("search.users", BackendCursor)


def _state(req: PageRequest[BackendCursor]) -> str | None:
    return req.after.state if req.after else None


def _token(req: PageRequest[BackendCursor], state: str | None) -> str:
    return req.token(BackendCursor(state) if state else None)


class TrendsPage(NamedTuple):
    top: list[TrendCount]  # worldwide
    place: str
    place_top: list[TrendCount]
    window_start: datetime
    window_end: datetime


class Search:
    def __init__(self, backend: SearchBackend, users: UsersClient, tweets: TweetsClient,
                 trends: Trends, relations: RelationsCache) -> None:
        self._relations = relations
        self._backend = backend
        self._users = users
        self._tweets = tweets
        self._trends = trends

    async def tweets(self, viewer: int, q: str, page_size: int,
                     page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        query = parse(q)
        req = SEARCH_TWEETS.request(q, page_size, page_token)
        names = {n.lower() for n in (*query.mentions, *query.authors)}
        ids = await self._users.ids_by_username(sorted(names))
        if len(ids) < len(names):
            return [], ""  # an unknown @user or from:user matches nothing
        flt = TweetFilter(query.text, query.hashtags,
                          [ids[m.lower()] for m in query.mentions],
                          [ids[a.lower()] for a in query.authors])
        try:
            tweet_ids, state = await self._backend.search_tweets(flt, _state(req), req.limit)
        except (ValueError, KeyError, TypeError) as exc:  # another backend's state
            raise InvalidArgument.field("page_token", "is not a valid page token") from exc
        # Users blocked either way are left out (a page may come up short).
        tweets, relations = await asyncio.gather(self._tweets.hydrate(tweet_ids, viewer),
                                                 self._relations.of(viewer))
        return visible(tweets, relations.hidden), _token(req, state)

    async def users(self, viewer: int, q: str, page_size: int,
                    page_token: str) -> tuple[list[UserDoc], str]:
        text = q.strip()
        if not text:
            raise InvalidArgument.field("q", "must not be empty")
        if len(text) > MAX_USER_QUERY:
            raise InvalidArgument.field("q", f"must be at most {MAX_USER_QUERY} characters")
        check_characters(text)
        req = SEARCH_USERS.request(text, page_size, page_token)
        try:
            users, state = await self._backend.search_users(text, _state(req), req.limit)
        except (ValueError, KeyError, TypeError) as exc:  # another backend's state
            raise InvalidArgument.field("page_token", "is not a valid page token") from exc
        hidden = (await self._relations.of(viewer)).hidden
        return [u for u in users if u.user_id not in hidden], _token(req, state)

    async def trends(self, limit: int, place: str = "") -> TrendsPage:
        """The worldwide top hashtags and, with a place, that place's too."""
        if limit < 0:
            raise InvalidArgument.field("limit", "must not be negative")
        place = normalize_place(place)
        limit = min(limit or 10, MAX_TRENDS)
        now = time.time()
        first, last = self._trends.window(now)
        top, local = await asyncio.gather(
            self._trends.top(limit, now),
            self._trends.top(limit, now, place=place) if place else _nothing())
        return TrendsPage(top, place, local, datetime.fromtimestamp(first * 60, tz=UTC),
                          datetime.fromtimestamp((last + 1) * 60, tz=UTC))


async def _nothing() -> list[TrendCount]:
    return []
