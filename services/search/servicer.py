"""gRPC transport of the search service."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.search.v1 import search_pb2, search_pb2_grpc

from services.search.service import Search
from services.search.trends import TrendCount
from services.shared.fields.timestamps import to_timestamp
from services.shared.security.auth import caller_id

Ctx = grpc.aio.ServicerContext[Any, Any]


class SearchServicer(search_pb2_grpc.SearchServiceServicer):
    def __init__(self, search: Search) -> None:
        self._search = search

    async def SearchTweets(self, request: search_pb2.SearchTweetsRequest,
                           context: Ctx) -> search_pb2.SearchTweetsResponse:
        tweets, token = await self._search.tweets(caller_id(), request.q, request.page_size,
                                                  request.page_token)
        return search_pb2.SearchTweetsResponse(tweets=tweets, next_page_token=token)

    async def SearchUsers(self, request: search_pb2.SearchUsersRequest,
                          context: Ctx) -> search_pb2.SearchUsersResponse:
        users, token = await self._search.users(caller_id(), request.q, request.page_size,
                                                request.page_token)
        return search_pb2.SearchUsersResponse(users=[search_pb2.UserResult(
            user_id=u.user_id, username=u.username, display_name=u.display_name, bio=u.bio,
            profile_picture_url=u.profile_picture_url, follower_count=u.follower_count)
            for u in users], next_page_token=token)

    async def GetTrends(self, request: search_pb2.GetTrendsRequest,
                        context: Ctx) -> search_pb2.GetTrendsResponse:
        page = await self._search.trends(request.limit, request.place)
        window = {"window_start": to_timestamp(page.window_start),
                  "window_end": to_timestamp(page.window_end)}

        def listed(counts: list[TrendCount]) -> list[search_pb2.Trend]:
            return [search_pb2.Trend(hashtag=t.hashtag, tweet_count=t.users, **window)
                    for t in counts]

        return search_pb2.GetTrendsResponse(trends=listed(page.top), place=page.place,
                                            place_trends=listed(page.place_top), **window)
