"""The tweets service over gRPC against the real Cassandra, users service and NATS,
plus the service's own objects in-process (a second "replica", and one whose
publishing fails) sharing the same keyspace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.message import Message
from nats.js import JetStreamContext
from twitter.tweets.v1 import events_pb2, tweets_pb2, tweets_pb2_grpc

from services.shared import contracts
from services.shared.messaging import events as jetstream
from services.shared.security.auth import set_caller
from services.shared.snowflake.ids import IdGenerator
from services.tweets.counts import Counter
from services.tweets.repository import RowKind
from services.tweets.wiring import Components
from tests.support.tweets import FlakyPublisher, get, post
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


async def all_likers(tweets: Stub, who: Account, tweet_id: int) -> list[int]:
    ids: list[int] = []
    token = ""
    while True:
        page = await tweets.ListLikingUsers(tweets_pb2.ListLikingUsersRequest(
            tweet_id=tweet_id, page_size=7, page_token=token), metadata=who.metadata)
        ids += [like.user.user_id for like in page.likes]
        token = page.next_page_token
        if not token:
            return ids


async def code_of(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    return exc.value.code()


async def test_fifty_users_liking_at_once_twice_each_count_exactly_fifty(
        tweets: Stub, make_account: MakeAccount) -> None:
    author = await make_account("a")
    fans = await asyncio.gather(*(make_account("f") for _ in range(50)))
    tweet = await post(tweets, author)

    async def like(fan: Account) -> None:
        await tweets.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet.tweet_id),
                               metadata=fan.metadata, timeout=60)

    await asyncio.gather(*(like(f) for f in fans), *(like(f) for f in fans))
    assert (await get(tweets, author, tweet.tweet_id)).like_count == 50
    likers = await all_likers(tweets, author, tweet.tweet_id)
    assert sorted(likers) == sorted(f.user_id for f in fans)
    fan_view = await get(tweets, fans[0], tweet.tweet_id)
    assert fan_view.liked_by_viewer
    assert not (await get(tweets, author, tweet.tweet_id)
                                             ).liked_by_viewer


async def test_like_unlike_race_across_two_replicas_keeps_count_equal_to_rows(
        tweets: Stub, make_account: MakeAccount,
        replica: tuple[Components, FlakyPublisher]) -> None:
    other, _ = replica
    author = await make_account("a")
    fans = await asyncio.gather(*(make_account("r") for _ in range(20)))
    tweet = await post(tweets, author)

    async def via_service(fan: Account, like: bool) -> None:
        request = tweets_pb2.LikeTweetRequest(tweet_id=tweet.tweet_id)
        if like:
            await tweets.LikeTweet(request, metadata=fan.metadata, timeout=60)
        else:
            await tweets.UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=tweet.tweet_id),
                                     metadata=fan.metadata, timeout=60)

    async def via_replica(fan: Account, like: bool) -> None:
        action = other.engagement.like if like else other.engagement.unlike
        await action(fan.user_id, tweet.tweet_id)

    async def flap(i: int, fan: Account) -> None:
        # Each fan races likes and unlikes through both replicas at once.
        ops = [via_service(fan, True), via_replica(fan, False), via_replica(fan, True),
               via_service(fan, False), via_service(fan, True)]
        await asyncio.gather(*ops)

    await asyncio.gather(*(flap(i, f) for i, f in enumerate(fans)))
    # Whatever order the races ended in, the count equals the rows.
    likers = await all_likers(tweets, author, tweet.tweet_id)
    count = (await get(tweets, author, tweet.tweet_id)).like_count
    assert count == len(likers) == len(set(likers))
    for fan in fans:  # and the viewer flag agrees with the rows
        assert (await get(tweets, fan, tweet.tweet_id)).liked_by_viewer == (fan.user_id in likers)
    # Settle deterministically: everyone likes once more, then half unlike.
    await asyncio.gather(*(via_service(f, True) for f in fans))
    await asyncio.gather(*(via_replica(f, False) for f in fans[:10]))
    assert (await get(tweets, author, tweet.tweet_id)).like_count == 10
    assert sorted(await all_likers(tweets, author, tweet.tweet_id)) == sorted(
        f.user_id for f in fans[10:])


async def test_a_recount_with_nothing_to_flip_fences_a_racing_older_one(
        tweets: Stub, make_account: MakeAccount,
        replica: tuple[Components, FlakyPublisher]) -> None:
    """An unlike's recount reads the row, a like lands, the like's recount (in
    another replica) finds the row alive and counted: the older recount must
    not commit its flip of the row to uncounted afterwards."""
    parts, _ = replica
    store, author = parts.store, await make_account("a")
    tweet = (await post(tweets, author, "raced")).tweet_id
    fan = 10**15 + 7

    async def write(*, alive: bool, ref: int) -> None:
        written = (await store.engaged(tweet, fan))[RowKind.LIKE].written
        await store.write([store.set_pair(tweet, RowKind.LIKE, fan, ref, alive=alive,
                                           at=written + 1)])

    await parts.engagement.like(fan, tweet)  # alive and counted: 1
    await write(alive=False, ref=1)  # an unlike, its recount not yet run
    unlikes_read = await store.tally(tweet, RowKind.LIKE, [fan])
    assert unlikes_read is not None
    await write(alive=True, ref=2)  # a like lands before that recount commits
    racing = Counter(store, parts.reads.refresh)  # the like's replica recounts
    pairs, count = await racing.recount(tweet, RowKind.LIKE, [fan])
    assert (pairs[fan].alive, pairs[fan].counted, count) == (True, True, 1)

    # The unlike's recount commits what it read: it must lose, and read again.
    flip = unlikes_read.pairs[fan]
    assert not await store.commit_count(tweet, RowKind.LIKE, unlikes_read, 0, [flip])
    _, count = await parts.counter.recount(tweet, RowKind.LIKE, [fan])
    assert count == 1
    assert (await get(tweets, author, tweet)).like_count == 1


async def test_retweets_are_idempotent_counted_and_vanish_with_the_original(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, fan = await make_account("a"), await make_account("f")
    original = await post(tweets, author, "retweet me")
    request = tweets_pb2.RetweetRequest(tweet_id=original.tweet_id)
    first, again = await asyncio.gather(tweets.Retweet(request, metadata=fan.metadata),
                                        tweets.Retweet(request, metadata=fan.metadata))
    assert first.tweet.tweet_id == again.tweet.tweet_id
    retweet = first.tweet
    assert retweet.kind == tweets_pb2.TWEET_KIND_RETWEET
    assert retweet.user_id == fan.user_id
    assert retweet.retweet_of.tweet_id == original.tweet_id
    assert retweet.retweet_of.retweet_count == 1
    assert retweet.retweet_of.retweeted_by_viewer
    # Retweeting the retweet retweets the original: still the same retweet.
    same = await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=retweet.tweet_id),
                                metadata=fan.metadata)
    assert same.tweet.tweet_id == retweet.tweet_id
    # Liking a retweet likes the original.
    liked = await tweets.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=retweet.tweet_id),
                                   metadata=fan.metadata)
    assert liked.tweet.tweet_id == original.tweet_id
    assert liked.tweet.like_count == 1

    batch = await tweets.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
        tweet_ids=[retweet.tweet_id, original.tweet_id], viewer_user_id=fan.user_id))
    assert [t.tweet_id for t in batch.tweets] == [retweet.tweet_id, original.tweet_id]
    assert batch.tweets[0].retweet_of.liked_by_viewer

    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=original.tweet_id),
                             metadata=author.metadata)
    batch = await tweets.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
        tweet_ids=[retweet.tweet_id, original.tweet_id]))
    assert list(batch.tweets) == []
    assert await code_of(get(tweets, fan, retweet.tweet_id)) == grpc.StatusCode.NOT_FOUND
    page = await tweets.ListUserTweets(tweets_pb2.ListUserTweetsRequest(user_id=fan.user_id),
                                       metadata=fan.metadata)
    assert retweet.tweet_id not in [t.tweet_id for t in page.tweets]


async def test_unretweet_and_deleting_a_retweet_are_the_same(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, fan = await make_account("a"), await make_account("f")
    original = await post(tweets, author)
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=original.tweet_id),
                                    metadata=fan.metadata)).tweet
    assert await code_of(tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(
        tweet_id=retweet.tweet_id), metadata=author.metadata)) == grpc.StatusCode.PERMISSION_DENIED
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=retweet.tweet_id),
                             metadata=fan.metadata)
    after = await get(tweets, fan, original.tweet_id)
    assert after.retweet_count == 0
    assert not after.retweeted_by_viewer
    assert await code_of(get(tweets, fan, retweet.tweet_id)) == grpc.StatusCode.NOT_FOUND
    again = await tweets.Unretweet(tweets_pb2.UnretweetRequest(tweet_id=original.tweet_id),
                                   metadata=fan.metadata)
    assert again.tweet.retweet_count == 0  # idempotent
    # Retweeting again makes a new retweet.
    new = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=original.tweet_id),
                                metadata=fan.metadata)).tweet
    assert new.tweet_id != retweet.tweet_id
    assert new.retweet_of.retweet_count == 1


async def test_reply_count_follows_live_replies_and_replying_to_deleted_is_404(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, other = await make_account("a"), await make_account("o")
    parent = await post(tweets, author, "parent")
    replies = await asyncio.gather(*(post(tweets, other, f"reply {i}", parent.tweet_id)
                                     for i in range(12)))
    assert (await get(tweets, other, parent.tweet_id)).reply_count == 12
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=replies[0].tweet_id),
                             metadata=other.metadata)
    assert (await get(tweets, other, parent.tweet_id)).reply_count == 11
    listed: list[int] = []
    token = ""
    while True:
        page = await tweets.ListReplies(tweets_pb2.ListRepliesRequest(
            tweet_id=parent.tweet_id, page_size=5, page_token=token), metadata=other.metadata)
        listed += [r.tweet_id for r in page.replies]
        token = page.next_page_token
        if not token:
            break
    assert listed == sorted((r.tweet_id for r in replies[1:]), reverse=True)  # newest first

    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=parent.tweet_id),
                             metadata=author.metadata)
    assert await code_of(post(tweets, other, "late", parent.tweet_id)) == \
        grpc.StatusCode.NOT_FOUND
    assert await code_of(post(tweets, other, "nowhere", 12345)) == grpc.StatusCode.NOT_FOUND
    # Replies outlive their parent and keep its id.
    kept = await get(tweets, other, replies[1].tweet_id)
    assert kept.reply_to_tweet_id == parent.tweet_id


async def test_batch_get_keeps_order_drops_missing_and_is_internal(
        tweets: Stub, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    who = await make_account()
    posted = await asyncio.gather(*(post(tweets, who, f"t{i}") for i in range(100)))
    ids = [t.tweet_id for t in reversed(posted)]
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=ids[3]),
                             metadata=who.metadata)
    batch = await tweets.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
        tweet_ids=[*ids[:50], 999, ids[0], *ids[50:98]]))  # 100 ids, one unknown, one twice
    assert [t.tweet_id for t in batch.tweets] == [i for i in ids[:98] if i != ids[3]]
    assert all(t.author.username == who.username for t in batch.tweets)
    assert await code_of(tweets.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
        tweet_ids=list(range(1, 102))))) == grpc.StatusCode.INVALID_ARGUMENT
    async with grpc.aio.insecure_channel(stack_env["TWEETS_ADDR"]) as plain:
        stub = tweets_pb2_grpc.TweetServiceStub(plain)
        assert await code_of(stub.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
            tweet_ids=ids[:1]), metadata=who.metadata)) == grpc.StatusCode.PERMISSION_DENIED


async def test_recent_tweet_ids_for_timeline_merges(tweets: Stub,
                                                    make_account: MakeAccount) -> None:
    who = await make_account()
    first = await post(tweets, who, "one")
    second = await post(tweets, who, "two")
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=first.tweet_id),
                                    metadata=who.metadata)).tweet
    every = await tweets.ListRecentTweetIds(tweets_pb2.ListRecentTweetIdsRequest(
        user_id=who.user_id))
    assert [r.tweet_id for r in every.tweets] == [retweet.tweet_id, second.tweet_id,
                                                 first.tweet_id]
    assert every.tweets[0].retweet_of_tweet_id == first.tweet_id
    assert every.tweets[0].kind == tweets_pb2.TWEET_KIND_RETWEET
    since = await tweets.ListRecentTweetIds(tweets_pb2.ListRecentTweetIdsRequest(
        user_id=who.user_id, since=first.created_at))
    assert first.tweet_id not in [r.tweet_id for r in since.tweets]


async def test_every_change_publishes_its_event_once_with_its_id(
        tweets: Stub, make_account: MakeAccount, js: JetStreamContext) -> None:
    author, fan = await make_account("a"), await make_account("f")
    sub = await js.subscribe("twitter.tweet.>", ordered_consumer=True,
                             deliver_policy=jetstream.DeliverPolicy.NEW)
    tweet = await post(tweets, author, "events #go")
    await tweets.UpdateTweet(tweets_pb2.UpdateTweetRequest(tweet_id=tweet.tweet_id,
                                                           content="edited #rust"),
                             metadata=author.metadata)
    for _ in range(2):  # the second like and unlike change nothing and publish nothing
        await tweets.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet.tweet_id),
                               metadata=fan.metadata)
    for _ in range(2):
        await tweets.UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=tweet.tweet_id),
                                 metadata=fan.metadata)
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=tweet.tweet_id),
                                    metadata=fan.metadata)).tweet
    await tweets.Unretweet(tweets_pb2.UnretweetRequest(tweet_id=tweet.tweet_id),
                           metadata=fan.metadata)
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=tweet.tweet_id),
                             metadata=author.metadata)
    ours = {tweet.tweet_id, retweet.tweet_id}
    seen: list[tuple[str, Any]] = []
    async with asyncio.timeout(20):
        while len(seen) < 9:
            msg = await sub.next_msg(timeout=20)
            message: Any = _EVENTS[msg.subject].FromString(msg.data)
            if message.tweet_id in ours:
                assert msg.headers
                assert msg.headers["Nats-Msg-Id"] == message.event_id
                seen.append((msg.subject.rsplit(".", 1)[1], message))
    await sub.unsubscribe()
    assert [s for s, _ in seen] == ["created", "edited", "liked", "unliked", "created",
                                    "retweeted", "deleted", "unretweeted", "deleted"]
    edited = seen[1][1]
    assert isinstance(edited, events_pb2.TweetEdited)
    assert edited.revision == 2
    assert list(edited.hashtags) == ["rust"]
    assert list(edited.previous_hashtags) == ["go"]
    liked, unliked = seen[2][1], seen[3][1]
    assert isinstance(liked, events_pb2.TweetLiked)
    assert liked.like_count == 1
    assert isinstance(unliked, events_pb2.TweetUnliked)
    assert unliked.like_count == 0
    assert len({m.event_id for _, m in seen}) == 9


_EVENTS: dict[str, type[Message]] = contracts.by_subject(events_pb2)
EDITED = contracts.subject(events_pb2.TweetEdited)


async def test_event_is_not_lost_when_publishing_fails_after_the_write(
        tweets: Stub, make_account: MakeAccount, js: JetStreamContext,
        replica: tuple[Components, FlakyPublisher]) -> None:
    parts, publisher = replica
    who = await make_account()
    sub = await js.subscribe(contracts.subject(events_pb2.TweetLiked), ordered_consumer=True,
                             deliver_policy=jetstream.DeliverPolicy.NEW)
    tweet = await post(tweets, who, "like me while NATS is down")
    publisher.failing = True
    set_caller(who.user_id)
    liked = (await parts.engagement.like(who.user_id, tweet.tweet_id)).shown
    # The write stands although publishing failed.
    assert (await parts.reads.tweets([liked], who.user_id))[0].like_count == 1
    assert publisher.published == []

    publisher.failing = False
    resolved = await parts.relay.relay_once(range(16), now=time.time() + 600, advance=False)
    assert resolved >= 1
    async with asyncio.timeout(10):
        while True:
            msg = await sub.next_msg(timeout=10)
            event = events_pb2.TweetLiked.FromString(msg.data)
            if event.tweet_id == tweet.tweet_id:
                break
    assert event.user_id == who.user_id
    assert event.like_count == 1
    assert msg.headers
    assert msg.headers["Nats-Msg-Id"] == event.event_id
    # Nothing is left to relay: the intent went with the publish.
    published = len(publisher.published)
    await parts.relay.relay_once(range(16), now=time.time() + 600, advance=False)
    assert [e for e in publisher.published[published:]
            if e.subject == contracts.subject(events_pb2.TweetLiked)
            and events_pb2.TweetLiked.FromString(e.payload).tweet_id == tweet.tweet_id] == []
    await sub.unsubscribe()


async def test_an_operation_the_relay_fenced_can_never_commit(
        tweets: Stub, make_account: MakeAccount,
        replica: tuple[Components, FlakyPublisher]) -> None:
    parts, _ = replica
    who = await make_account()
    tweet = await post(tweets, who)
    op_id = IdGenerator.fixed(0).next_id()  # any id: it names an operation on a new tweet
    # A request wrote its intent, then stalled before its conditional write.
    await parts.outbox._intents.add(op_id, tweet.tweet_id)
    await parts.relay.relay_once(range(16), now=time.time() + 600, advance=False)
    ok, _ = await parts.store.conditional(parts.store.statement(
        "insert_event_if_new", (tweet.tweet_id, op_id, [EDITED], [b""], "[{}]",
                                "[]", 60)))
    assert not ok  # the stalled write now fails instead of landing unannounced
    stored = await parts.store.stored_events(tweet.tweet_id, op_id)
    assert stored is not None
    assert stored.fenced
