"""gRPC transport of PollService (served by the tweets service)."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.tweets.v1 import polls_pb2, polls_pb2_grpc

from services.shared.security.auth import caller_id
from services.tweets.polls.service import Polls
from services.tweets.visibility import Visibility

Ctx = grpc.aio.ServicerContext[Any, Any]


class PollServicer(polls_pb2_grpc.PollServiceServicer):
    def __init__(self, polls: Polls, visibility: Visibility) -> None:
        self._polls = polls
        self._visibility = visibility

    async def GetPoll(self, request: polls_pb2.GetPollRequest,
                      context: Ctx) -> polls_pb2.GetPollResponse:
        # A tweet hidden from the caller by a block is absent, poll included.
        await self._visibility.readable(caller_id(), request.tweet_id)
        return polls_pb2.GetPollResponse(poll=await self._polls.view(caller_id(),
                                                                     request.tweet_id))

    async def VotePoll(self, request: polls_pb2.VotePollRequest,
                       context: Ctx) -> polls_pb2.VotePollResponse:
        # As for a like: NOT_FOUND when the author blocks the caller,
        # PERMISSION_DENIED when the caller blocks the author.
        await self._visibility.may_interact(caller_id(), request.tweet_id)
        return polls_pb2.VotePollResponse(poll=await self._polls.vote(
            caller_id(), request.tweet_id, request.option))
