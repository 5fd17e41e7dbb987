"""gRPC transport of the tweets service: requests to domain calls, views to protos."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.errors import InvalidArgument, NotFound
from services.shared.fields.timestamps import from_timestamp, to_timestamp
from services.shared.security.auth import caller_id
from services.tweets.bookmarks import Bookmarks
from services.tweets.client.tweet_cache import Rider, Riders
from services.tweets.client.viewer_flags import Flags
from services.tweets.domain import Revision
from services.tweets.engagement import Engagement
from services.tweets.events import kind_pb
from services.tweets.polls.rules import PollInput
from services.tweets.reads import TWEET_NOT_FOUND, CachedReads
from services.tweets.tweets import MAX_BATCH, Tweets
from services.tweets.user_pages import UserPages
from services.tweets.views import author_pb
from services.tweets.visibility import Visibility
from services.users.client.relations import masked, shows, visible

Ctx = grpc.aio.ServicerContext[Any, Any]


def edit_pb(revision: Revision) -> tweets_pb2.TweetEdit:
    return tweets_pb2.TweetEdit(revision=revision.revision, content=revision.content,
                                created_at=to_timestamp(revision.created_at))


class TweetServicer(tweets_pb2_grpc.TweetServiceServicer):
    def __init__(self, tweets: Tweets, engagement: Engagement, reads: CachedReads,
                 visibility: Visibility, bookmarks: Bookmarks, pages: UserPages) -> None:
        self._tweets = tweets
        self._engagement = engagement
        self._reads = reads
        self._visibility = visibility
        self._bookmarks = bookmarks
        self._pages = pages

    async def _one(self, tweet_id: int, *, flags: Flags | None = None) -> tweets_pb2.Tweet:
        """A tweet just changed, as the caller sees it: from the cache the change
        refreshed before it answered, with the caller's flags when the change
        already knows them."""
        found = await self._reads.tweets([tweet_id], caller_id(), known=flags)
        if not found:  # deleted by a concurrent call
            raise NotFound(TWEET_NOT_FOUND)
        return found[0]

    async def CreateTweet(self, request: tweets_pb2.CreateTweetRequest,
                          context: Ctx) -> tweets_pb2.CreateTweetResponse:
        for target in {request.reply_to_tweet_id, request.quoted_tweet_id} - {0}:
            if target > 0:
                await self._visibility.may_interact(caller_id(), target)
        poll = PollInput(list(request.poll.options), request.poll.duration.ToTimedelta()
                         if request.poll.HasField("duration") else None) \
            if request.HasField("poll") else None
        posted = await self._tweets.post(caller_id(), request.content,
                                         list(request.media_ids), request.reply_to_tweet_id,
                                         request.place, request.quoted_tweet_id, poll)
        shown = await self._reads.created_view(posted.record) if posted.record else None
        if shown is None:
            # Nobody, its author included, can like or retweet it before it exists.
            shown = await self._one(posted.tweet_id, flags=(set(), set()))
        return tweets_pb2.CreateTweetResponse(tweet=shown)

    async def GetTweet(self, request: tweets_pb2.GetTweetRequest,
                       context: Ctx) -> tweets_pb2.GetTweetResponse:
        # The relations ride the tweet's lookup: one round trip for both.
        seen = self._visibility.rider(caller_id())
        found = await self._reads.tweets([request.tweet_id], caller_id(), rider=seen)
        relations = await self._visibility.heard(seen)
        if not found:
            raise NotFound(TWEET_NOT_FOUND)
        return tweets_pb2.GetTweetResponse(tweet=masked(
            self._visibility.require_visible(found[0], relations), relations.hidden))

    async def UpdateTweet(self, request: tweets_pb2.UpdateTweetRequest,
                          context: Ctx) -> tweets_pb2.UpdateTweetResponse:
        # A tweet hidden from the caller (its author blocks them) is absent,
        # as to every read: not "someone else's" (403), which would show it exists.
        await self._visibility.readable(caller_id(), request.tweet_id)
        await self._tweets.edit(caller_id(), request.tweet_id, request.content)
        return tweets_pb2.UpdateTweetResponse(tweet=await self._one(request.tweet_id))

    async def DeleteTweet(self, request: tweets_pb2.DeleteTweetRequest,
                          context: Ctx) -> tweets_pb2.DeleteTweetResponse:
        await self._visibility.readable(caller_id(), request.tweet_id)
        await self._tweets.delete(caller_id(), request.tweet_id)
        return tweets_pb2.DeleteTweetResponse()

    async def ListUserTweets(self, request: tweets_pb2.ListUserTweetsRequest,
                             context: Ctx) -> tweets_pb2.ListUserTweetsResponse:
        viewer = caller_id()
        req = self._pages.request(request.user_id, request.page_size, request.page_token)
        listing = await self._pages.listing(req)
        # The viewer's relations ride the first lookup of the page's tweets.
        seen = self._visibility.rider(viewer)
        pending: list[Rider] = [seen]

        async def hydrate(ids: list[int], rider: Rider | None) -> list[tweets_pb2.Tweet]:
            riders = Riders(*pending, *([rider] if rider is not None else []))
            pending.clear()
            return await self._reads.tweets(ids, viewer, rider=riders)
        tweets, token = await self._pages.read(listing, hydrate)
        relations = await self._visibility.heard(seen)
        if request.user_id in relations.blocked_by:
            # What a user with no account gets (this service does not look
            # users up): a block must answer exactly as an absence.
            return tweets_pb2.ListUserTweetsResponse()
        return tweets_pb2.ListUserTweetsResponse(tweets=visible(tweets, relations.hidden),
                                                 next_page_token=token)

    async def LikeTweet(self, request: tweets_pb2.LikeTweetRequest,
                        context: Ctx) -> tweets_pb2.LikeTweetResponse:
        target = await self._visibility.may_interact(caller_id(), request.tweet_id)
        done = await self._engagement.like(caller_id(), request.tweet_id, target=target)
        return tweets_pb2.LikeTweetResponse(tweet=await self._one(done.shown, flags=done.flags))

    async def UnlikeTweet(self, request: tweets_pb2.UnlikeTweetRequest,
                          context: Ctx) -> tweets_pb2.UnlikeTweetResponse:
        await self._visibility.readable(caller_id(), request.tweet_id)
        done = await self._engagement.unlike(caller_id(), request.tweet_id)
        return tweets_pb2.UnlikeTweetResponse(tweet=await self._one(done.shown, flags=done.flags))

    async def Retweet(self, request: tweets_pb2.RetweetRequest,
                      context: Ctx) -> tweets_pb2.RetweetResponse:
        target = await self._visibility.may_interact(caller_id(), request.tweet_id)
        done = await self._engagement.retweet(caller_id(), request.tweet_id, target=target)
        try:
            return tweets_pb2.RetweetResponse(tweet=await self._one(done.shown, flags=done.flags))
        except NotFound:
            # A duplicate of this call on another replica won and retired this
            # retweet; asking again answers with the one that stands.
            done = await self._engagement.retweet(caller_id(), request.tweet_id)
            return tweets_pb2.RetweetResponse(tweet=await self._one(done.shown, flags=done.flags))

    async def Unretweet(self, request: tweets_pb2.UnretweetRequest,
                        context: Ctx) -> tweets_pb2.UnretweetResponse:
        await self._visibility.readable(caller_id(), request.tweet_id)
        done = await self._engagement.unretweet(caller_id(), request.tweet_id)
        return tweets_pb2.UnretweetResponse(tweet=await self._one(done.shown, flags=done.flags))

    async def ListReplies(self, request: tweets_pb2.ListRepliesRequest,
                          context: Ctx) -> tweets_pb2.ListRepliesResponse:
        relations = await self._visibility.readable(caller_id(), request.tweet_id)
        ids, token = await self._tweets.list_replies(
            request.tweet_id, request.page_size, request.page_token)
        replies = await self._reads.tweets(ids, caller_id())
        return tweets_pb2.ListRepliesResponse(replies=visible(replies, relations.hidden),
                                              next_page_token=token)

    async def ListLikingUsers(self, request: tweets_pb2.ListLikingUsersRequest,
                              context: Ctx) -> tweets_pb2.ListLikingUsersResponse:
        relations = await self._visibility.readable(caller_id(), request.tweet_id)
        likes, token = await self._engagement.likers(request.tweet_id, request.page_size,
                                                     request.page_token)
        return tweets_pb2.ListLikingUsersResponse(
            likes=[tweets_pb2.Like(user=author_pb(a), liked_at=to_timestamp(at))
                   for a, at in likes if a.user_id not in relations.hidden],
            next_page_token=token)

    async def ListTweetEdits(self, request: tweets_pb2.ListTweetEditsRequest,
                             context: Ctx) -> tweets_pb2.ListTweetEditsResponse:
        await self._visibility.readable(caller_id(), request.tweet_id)
        edits, token = await self._tweets.list_edits(request.tweet_id, request.page_size,
                                                     request.page_token)
        return tweets_pb2.ListTweetEditsResponse(edits=[edit_pb(e) for e in edits],
                                                 next_page_token=token)

    async def BookmarkTweet(self, request: tweets_pb2.BookmarkTweetRequest,
                            context: Ctx) -> tweets_pb2.BookmarkTweetResponse:
        await self._visibility.may_interact(caller_id(), request.tweet_id)
        tweet_id, at = await self._bookmarks.add(caller_id(), request.tweet_id)
        return tweets_pb2.BookmarkTweetResponse(tweet=await self._one(tweet_id),
                                                bookmarked_at=to_timestamp(at))

    async def UnbookmarkTweet(self, request: tweets_pb2.UnbookmarkTweetRequest,
                              context: Ctx) -> tweets_pb2.UnbookmarkTweetResponse:
        if request.tweet_id <= 0:
            raise InvalidArgument.field("tweet_id", "must be a tweet id")
        await self._bookmarks.remove(caller_id(), request.tweet_id)
        return tweets_pb2.UnbookmarkTweetResponse()

    async def ListBookmarks(self, request: tweets_pb2.ListBookmarksRequest,
                            context: Ctx) -> tweets_pb2.ListBookmarksResponse:
        relations, (page, token) = await asyncio.gather(
            self._visibility.of(caller_id()),
            self._bookmarks.page(caller_id(), request.page_size, request.page_token))
        hidden = relations.hidden
        return tweets_pb2.ListBookmarksResponse(
            bookmarks=[tweets_pb2.Bookmark(tweet=masked(t, hidden), bookmarked_at=to_timestamp(at))
                       for t, at in page if shows(t, hidden)],
            next_page_token=token)

    async def BatchGetTweets(self, request: tweets_pb2.BatchGetTweetsRequest,
                             context: Ctx) -> tweets_pb2.BatchGetTweetsResponse:
        if len(request.tweet_ids) > MAX_BATCH:
            raise InvalidArgument.field("tweet_ids", f"at most {MAX_BATCH} ids")
        return tweets_pb2.BatchGetTweetsResponse(
            tweets=await self._reads.tweets(list(request.tweet_ids), request.viewer_user_id))

    async def ListRecentTweetIds(self, request: tweets_pb2.ListRecentTweetIdsRequest,
                                 context: Ctx) -> tweets_pb2.ListRecentTweetIdsResponse:
        since = from_timestamp(request.since) if request.HasField("since") else None
        refs, token = await self._tweets.recent_ids(request.user_id, since, request.page_size,
                                                    request.page_token, request.before_tweet_id)
        return tweets_pb2.ListRecentTweetIdsResponse(
            tweets=[tweets_pb2.TweetRef(tweet_id=r.tweet_id, created_at=to_timestamp(r.created_at),
                                        kind=kind_pb(r.kind), retweet_of_tweet_id=r.retweet_of)
                    for r in refs],
            next_page_token=token)
