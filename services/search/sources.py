"""Reads what the search index is built from, out of the users and tweets
services (their internal RPCs): every user, and every user's tweets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC

from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.search.backend import TweetDoc, UserDoc
from services.shared.rpc.peers import HYDRATE_BATCH

TIMEOUT = 30.0
USERS_PAGE = 2000
IDS_PAGE = 1000
# A tweet that was never edited is at revision 1 (its edit events count on from
# there). The internal RPCs do not tell the revision of an edited tweet, so it
# is indexed at 1 as well: an edit event older than the rebuild, redelivered
# after it, would be applied again (events during the rebuild are replayed in
# order, so they end on the newest revision).
REVISION = 1


async def users(stub: users_pb2_grpc.UserServiceAsyncStub) -> AsyncIterator[list[UserDoc]]:
    token = ""
    while True:
        page = await stub.ListUsers(users_pb2.ListUsersRequest(
            page_size=USERS_PAGE, page_token=token), timeout=TIMEOUT)
        yield [UserDoc(u.user_id, u.username, u.display_name, u.bio, u.profile_picture_url,
                       u.follower_count) for u in page.users]
        token = page.next_page_token
        if not token:
            return


def tweet_doc(t: tweets_pb2.Tweet) -> TweetDoc:
    return TweetDoc(t.tweet_id, t.user_id, t.content, [h.lower() for h in t.hashtags],
                    [m.user_id for m in t.mentions], t.created_at.ToDatetime(tzinfo=UTC),
                    revision=REVISION, likes=t.like_count, retweets=t.retweet_count)


async def user_tweets(stub: tweets_pb2_grpc.TweetServiceAsyncStub,
                      user_id: int) -> AsyncIterator[list[TweetDoc]]:
    """A user's tweets and replies (retweets are the original again: not indexed)."""
    before = 0
    while True:
        ids = [t.tweet_id for t in (await stub.ListRecentTweetIds(
            tweets_pb2.ListRecentTweetIdsRequest(user_id=user_id, page_size=IDS_PAGE,
                                                 before_tweet_id=before),
            timeout=TIMEOUT)).tweets]
        for i in range(0, len(ids), HYDRATE_BATCH):
            got = await stub.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
                tweet_ids=ids[i:i + HYDRATE_BATCH]), timeout=TIMEOUT)
            yield [tweet_doc(t) for t in got.tweets if t.kind != tweets_pb2.TWEET_KIND_RETWEET]
        if len(ids) < IDS_PAGE:
            return
        before = min(ids)

