"""The Tweets service layer and its outbox (services/tweets/tweets.py, outbox.py)
over an in-memory Cassandra store: creates, edits, deletes and lists, what
they publish, and how the relay settles what a failure left half done."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from cassandra import OperationTimedOut

from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.shared.messaging.events import Event
from services.shared.rpc import idempotency
from services.shared.snowflake.ids import IdGenerator
from services.tweets.counts import Counter
from services.tweets.domain import Kind, TweetRecord
from services.tweets.followups import Op
from services.tweets.outbox import Outbox
from services.tweets.pairs import PairWriter
from services.tweets.polls.rules import PollInput
from services.tweets.polls.service import Polls
from services.tweets.reads import Reader
from services.tweets.tweets import Tweets
from tests.fakes.intents import FakeIntentLog
from tests.fakes.tweets import (
    FakeEngagement,
    FakeFollowUps,
    FakeMedia,
    FakePollVotes,
    FakeReads,
    FakeTweetStore,
    FakeTweetUsers,
)

ALICE, BOB, MALLORY = 101, 202, 666
ALICES_MEDIA, BOBS_MEDIA = 7001, 7002


@dataclass
class World:
    tweets: Tweets
    store: FakeTweetStore
    outbox: Outbox
    intents: FakeIntentLog
    followups: FakeFollowUps
    reads: FakeReads
    engagement: FakeEngagement
    published: list[Event] = field(default_factory=list)
    publish_fails: int = 0
    indexed: list[set[int]] = field(default_factory=list)  # told after each create

    async def created(self, tweet: TweetRecord, users: set[int]) -> None:
        self.indexed.append(users)
        await self.reads.created(tweet)

    async def publish(self, event: Event) -> None:
        if self.publish_fails:
            self.publish_fails -= 1
            raise ConnectionError("NATS is down")
        self.published.append(event)

    def kinds(self) -> list[str]:
        return [e.type_name.rsplit(".", 1)[-1] for e in self.published]

    async def tweet(self, tweet_id: int) -> TweetRecord:
        found = await self.store.get(tweet_id)
        assert found is not None
        return found

    async def relay(self) -> None:
        """The outbox relay, resolving every intent left (as relay_once would)."""
        for intent in self.intents.intents():
            await self.outbox.resolve(intent)


def make_world(*, sharing: World | None = None) -> World:
    """A service over a fresh store, or (sharing) another replica over w's store."""
    store = sharing.store if sharing else FakeTweetStore()
    intents = sharing.intents if sharing else FakeIntentLog(shards=4)
    ids = IdGenerator.fixed(10 if sharing else 9)
    followups = FakeFollowUps(store)
    reads = FakeReads(store)
    engagement = FakeEngagement()
    w = World(None, store, None, intents, followups, reads, engagement)  # type: ignore[arg-type]
    pairs = PairWriter(store, intents, Counter(store, reads.refresh), w.publish, reads.refresh)
    w.outbox = Outbox(store, intents, ids, followups, pairs, w.publish, KeyedLocks(),
                      event_ttl_seconds=3600, changed=reads.refresh, created=w.created)
    polls = Polls(store, reads, FakePollVotes())
    w.tweets = Tweets(store, w.outbox, Reader(store), reads, FakeTweetUsers(bob=BOB), engagement,
                      ids, FakeMedia({ALICES_MEDIA: ALICE, BOBS_MEDIA: BOB}), polls=polls)
    return w


@pytest.fixture
def w() -> World:
    return make_world()


def fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


# --- create ------------------------------------------------------------------


async def test_a_created_tweet_is_stored_indexed_announced_and_its_intent_dropped(
        w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "hello #World @bob", [], 0)
    tweet = await w.tweet(tweet_id)
    assert (tweet.user_id, tweet.kind, tweet.current.content) == (
        ALICE, Kind.ORIGINAL, "hello #World @bob")
    assert tweet.current.hashtags == ["world"]
    assert [m.user_id for m in tweet.current.mentions] == [BOB]
    assert w.kinds() == ["TweetCreated"]
    assert w.intents.intents() == []
    assert w.reads.filled == [tweet_id]
    assert w.indexed == [{ALICE}]  # whose pages to reset, with the cache's fill
    ids, _ = await w.tweets.list_user_tweets(ALICE, 10, "")
    assert ids == [tweet_id]


@pytest.mark.parametrize(("content", "media", "reply_to", "quoted", "field"), [
    ("", [], 0, 0, "content"),
    ("x" * 281, [], 0, 0, "content"),
    ("ok", [], -1, 0, "reply_to_tweet_id"),
    ("ok", [], 0, -3, "quoted_tweet_id"),
    ("ok", [-5], 0, 0, "media_ids"),
])
async def test_bad_creates_are_invalid_argument_and_write_nothing(
        w: World, content: str, media: list[int], reply_to: int, quoted: int,
        field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await w.tweets.create(ALICE, content, media, reply_to, quoted=quoted)
    assert field in fields(caught.value)
    assert w.store.partitions == {}
    assert w.intents.intents() == []
    assert w.published == []


async def test_media_must_be_the_authors_own(w: World) -> None:
    with pytest.raises(PermissionDenied):
        await w.tweets.create(ALICE, "look", [BOBS_MEDIA], 0)
    with pytest.raises(NotFound):
        await w.tweets.create(ALICE, "look", [9999], 0)
    assert w.store.partitions == {}
    tweet_id = await w.tweets.create(ALICE, "", [ALICES_MEDIA], 0)  # media alone is enough
    assert (await w.tweet(tweet_id)).media_ids == [ALICES_MEDIA]


async def test_a_reply_is_an_edge_in_its_parents_partition(w: World) -> None:
    parent = await w.tweets.create(BOB, "parent", [], 0)
    reply = await w.tweets.create(ALICE, "a reply", [], parent)
    assert (await w.tweet(reply)).kind is Kind.REPLY
    assert (await w.tweet(reply)).reply_to == parent
    replies, token = await w.tweets.list_replies(parent, 10, "")
    assert (replies, token) == ([reply], "")


async def test_a_reply_to_a_missing_or_deleted_tweet_is_not_found(w: World) -> None:
    with pytest.raises(NotFound):
        await w.tweets.create(ALICE, "to nowhere", [], 123456)
    parent = await w.tweets.create(BOB, "soon gone", [], 0)
    await w.tweets.delete(BOB, parent)
    before = set(w.store.partitions)
    with pytest.raises(NotFound):
        await w.tweets.create(ALICE, "too late", [], parent)
    assert set(w.store.partitions) == before


async def test_a_quote_records_its_edge_and_the_quoted_author(w: World) -> None:
    quoted = await w.tweets.create(BOB, "quote me", [], 0)
    quote = await w.tweets.create(ALICE, "so true", [], 0, quoted=quoted)
    assert (await w.tweet(quote)).quoted_tweet_id == quoted
    edges = w.store.part(quoted).edges
    assert list(edges) == [(4, quote)]  # RowKind.QUOTE, member = the quote


async def test_a_tweet_with_a_poll_schedules_its_end(w: World) -> None:
    tweet_id = await w.tweets.create(
        ALICE, "which?", [], 0, poll=PollInput(["yes", "no"], timedelta(hours=1)))
    tweet = await w.tweet(tweet_id)
    assert tweet.poll is not None
    assert tweet.poll.options == ("yes", "no")
    assert tweet_id in w.store.poll_ends
    with pytest.raises(InvalidArgument):
        await w.tweets.create(ALICE, "which?", [ALICES_MEDIA], 0,
                              poll=PollInput(["yes", "no"], timedelta(hours=1)))


async def test_an_unconfirmed_create_is_unavailable_and_the_relay_fences_it(
        w: World) -> None:
    parent = await w.tweets.create(BOB, "parent", [], 0)
    w.published.clear()
    w.store.fail_writes = 1
    with pytest.raises(Unavailable, match="could not be confirmed"):
        await w.tweets.create(ALICE, "lost?", [], parent)
    (intent,) = w.intents.intents()
    await w.relay()
    assert await w.store.get(intent.op_id) is None
    assert w.published == []  # never announced
    assert w.intents.intents() == []
    replies, _ = await w.tweets.list_replies(parent, 10, "")
    assert replies == []  # its reply edge was taken back


async def test_a_fenced_create_landing_late_stays_invisible(w: World) -> None:
    parent = await w.tweets.create(BOB, "parent", [], 0)
    w.store.fail_writes = 1
    with pytest.raises(Unavailable):
        await w.tweets.create(ALICE, "late", [], parent)
    (intent,) = w.intents.intents()
    assert "create" in json.loads(intent.op or "{}")
    await w.relay()
    w.store.land_in_flight()  # the timed-out batch arrives only now
    assert await w.store.get(intent.op_id) is None
    assert await w.store.stored_events(intent.op_id, intent.op_id) is None
    replies, _ = await w.tweets.list_replies(parent, 10, "")
    assert replies == []
    ids, _ = await w.tweets.list_user_tweets(ALICE, 10, "")
    assert ids == []


async def test_a_create_whose_publish_failed_is_announced_by_the_relay(w: World) -> None:
    w.publish_fails = 1
    tweet_id = await w.tweets.create(ALICE, "published later", [], 0)
    assert w.published == []
    assert [i.op_id for i in w.intents.intents()] == [tweet_id]
    await w.relay()
    assert w.kinds() == ["TweetCreated"]
    assert w.intents.intents() == []
    assert await w.store.get(tweet_id) is not None


async def test_a_keyed_retry_of_a_create_that_landed_returns_it(w: World) -> None:
    w.publish_fails = 1  # the first attempt landed but its caller saw no answer
    first = await w.tweets.create(ALICE, "once only", [], 0)
    token = idempotency._CLAIM.set(idempotency.Claim("key", "token", first))
    try:
        again = await w.tweets.create(ALICE, "once only", [], 0)
    finally:
        idempotency._CLAIM.reset(token)
    assert again == first
    ids, _ = await w.tweets.list_user_tweets(ALICE, 10, "")
    assert ids == [first]
    assert w.kinds() == ["TweetCreated"]


async def test_a_keyed_retry_of_a_create_that_never_landed_makes_one_new_tweet(
        w: World) -> None:
    w.store.fail_writes = 1
    with pytest.raises(Unavailable):
        await w.tweets.create(ALICE, "retry me", [], 0)
    (intent,) = w.intents.intents()
    token = idempotency._CLAIM.set(idempotency.Claim("key", "token", intent.op_id))
    try:
        new = await w.tweets.create(ALICE, "retry me", [], 0)
    finally:
        idempotency._CLAIM.reset(token)
    assert new != intent.op_id
    assert await w.store.get(intent.op_id) is None
    ids, _ = await w.tweets.list_user_tweets(ALICE, 10, "")
    assert ids == [new]


# --- edit --------------------------------------------------------------------


async def test_the_author_edits_and_the_revisions_are_kept(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "first #one", [], 0)
    await w.tweets.edit(ALICE, tweet_id, "second #two @bob")
    await w.tweets.edit(ALICE, tweet_id, "third")
    tweet = await w.tweet(tweet_id)
    assert (tweet.current.revision, tweet.current.content) == (3, "third")
    assert tweet.edited_at is not None
    revisions, token = await w.tweets.list_edits(tweet_id, 2, "")
    assert [r.content for r in revisions] == ["third", "second #two @bob"]
    rest, _ = await w.tweets.list_edits(tweet_id, 2, token)
    assert [r.revision for r in rest] == [1]
    assert w.kinds() == ["TweetCreated", "TweetEdited", "TweetEdited"]
    assert w.intents.intents() == []


async def test_only_the_author_edits_or_deletes(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "mine", [], 0)
    with pytest.raises(PermissionDenied):
        await w.tweets.edit(MALLORY, tweet_id, "hijacked")
    with pytest.raises(PermissionDenied):
        await w.tweets.delete(MALLORY, tweet_id)
    tweet = await w.tweet(tweet_id)
    assert (tweet.current.content, tweet.deleted) == ("mine", False)
    assert w.intents.intents() == []


async def test_an_edit_after_the_window_is_failed_precondition(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "frozen", [], 0)
    part = w.store.part(tweet_id)  # the tweet as if posted 31 minutes ago
    assert part.tweet is not None
    part.tweet = replace(part.tweet, created_at=part.tweet.created_at - timedelta(minutes=31))
    with pytest.raises(FailedPrecondition, match="within"):
        await w.tweets.edit(ALICE, tweet_id, "thawed")
    assert (await w.tweet(tweet_id)).current.content == "frozen"
    revisions, _ = await w.tweets.list_edits(tweet_id, 10, "")
    assert [r.revision for r in revisions] == [1]
    assert w.intents.intents() == []


async def test_an_invalid_edit_changes_nothing(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "fine", [], 0)
    with pytest.raises(InvalidArgument):
        await w.tweets.edit(ALICE, tweet_id, "   ")
    assert (await w.tweet(tweet_id)).current.revision == 1


async def test_an_edit_that_loses_its_round_to_another_reads_again_and_follows_it(
        w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "v1", [], 0)
    other = make_world(sharing=w)  # another replica over the same store

    async def sneak_in() -> None:
        w.store.before_conditional = None
        await other.tweets.edit(ALICE, tweet_id, "v2 from the other replica")

    w.store.before_conditional = sneak_in
    await w.tweets.edit(ALICE, tweet_id, "v3")
    revisions, _ = await w.tweets.list_edits(tweet_id, 10, "")
    assert [(r.revision, r.content) for r in revisions] == [
        (3, "v3"), (2, "v2 from the other replica"), (1, "v1")]


async def test_a_timed_out_round_that_landed_is_not_applied_twice(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "v1", [], 0)
    real = w.store.conditional
    calls = 0

    async def lands_then_times_out(*statements: object) -> tuple[bool, list[object]]:
        nonlocal calls
        calls += 1
        await real(*statements)  # type: ignore[arg-type]
        if calls == 1:
            raise OperationTimedOut("the Paxos round timed out")
        raise AssertionError("a landed change must not be sent again")

    w.store.conditional = lands_then_times_out  # type: ignore[method-assign,assignment]
    await w.tweets.edit(ALICE, tweet_id, "v2")
    assert (await w.tweet(tweet_id)).current.revision == 2
    assert w.kinds() == ["TweetCreated", "TweetEdited"]


# --- delete ------------------------------------------------------------------


async def test_a_deleted_tweet_is_gone_unindexed_and_announced_once(w: World) -> None:
    parent = await w.tweets.create(BOB, "parent", [], 0)
    reply = await w.tweets.create(ALICE, "reply", [], parent)
    await w.tweets.delete(ALICE, reply)
    with pytest.raises(NotFound):
        await w.tweets.delete(ALICE, reply)  # the second time it is not there
    with pytest.raises(NotFound):
        await w.tweets.edit(ALICE, reply, "zombie")
    with pytest.raises(NotFound):
        await w.tweets.list_edits(reply, 10, "")
    assert (await w.tweet(reply)).deleted
    ids, _ = await w.tweets.list_user_tweets(ALICE, 10, "")
    assert ids == []
    replies, _ = await w.tweets.list_replies(parent, 10, "")
    assert replies == []  # the reply edge is removed with it
    assert w.kinds().count("TweetDeleted") == 1
    ops = [s["op"] for s in w.followups.ran]
    assert Op.UNINDEX in ops
    assert Op.REMOVE_REPLY in ops


async def test_deleting_a_retweet_is_an_unretweet(w: World) -> None:
    original = await w.tweets.create(BOB, "original", [], 0)
    retweet = 4242
    w.store.part(retweet).tweet = TweetRecord(
        retweet, ALICE, Kind.RETWEET, (await w.tweet(original)).current, [],
        (await w.tweet(original)).created_at, None, 0, 0, 0, 0, original, False)
    await w.tweets.delete(ALICE, retweet)
    assert w.engagement.unretweeted == [(ALICE, original)]
    assert not (await w.tweet(retweet)).deleted  # the pair writer removes it, not a delete


async def test_a_change_whose_publish_failed_is_announced_by_the_relay_once(
        w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "v1", [], 0)
    w.publish_fails = 1
    await w.tweets.edit(ALICE, tweet_id, "v2")  # committed; the answer is still success
    assert w.kinds() == ["TweetCreated"]
    assert len(w.intents.intents()) == 1
    await w.relay()
    await w.relay()
    assert w.kinds() == ["TweetCreated", "TweetEdited"]
    assert w.intents.intents() == []


async def test_the_relay_fences_a_change_that_never_committed(w: World) -> None:
    tweet_id = await w.tweets.create(ALICE, "v1", [], 0)
    op_id = IdGenerator.fixed(11).next_id()
    await w.intents.add(op_id, tweet_id)  # a change that died before its round
    await w.relay()
    assert w.store.part(tweet_id).events[op_id]["fenced"]
    assert w.intents.intents() == []
    assert w.kinds() == ["TweetCreated"]


# --- lists -------------------------------------------------------------------


async def test_user_tweets_page_newest_first_and_since_is_exclusive(w: World) -> None:
    made = [await w.tweets.create(ALICE, f"t{i}", [], 0) for i in range(5)]
    await w.tweets.create(BOB, "not alice's", [], 0)
    seen, token = [], ""
    while True:
        page, token = await w.tweets.list_user_tweets(ALICE, 2, token)
        seen += page
        if not token:
            break
    assert seen == made[::-1]
    refs, _ = await w.tweets.recent_ids(ALICE, None, 10, "", before_id=made[3])
    assert [r.tweet_id for r in refs] == made[2::-1]
    assert all(r.kind is Kind.ORIGINAL for r in refs)
    with pytest.raises(InvalidArgument):
        await w.tweets.recent_ids(ALICE, None, 10, "", before_id=-1)


async def test_a_page_token_is_bound_to_its_list(w: World) -> None:
    for i in range(3):
        await w.tweets.create(ALICE, f"t{i}", [], 0)
    _, token = await w.tweets.list_user_tweets(ALICE, 1, "")
    with pytest.raises(InvalidArgument):
        await w.tweets.list_user_tweets(BOB, 1, token)
    with pytest.raises(InvalidArgument):
        await w.tweets.list_user_tweets(ALICE, -1, "")
