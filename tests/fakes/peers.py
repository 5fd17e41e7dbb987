"""In-memory peers: the users and tweets services as the timeline (and the
tweet cache's readers) see them through services/shared/rpc/peers.py. Each is a
subclass of the real client with every method replaced (same signatures), so
the real code takes it where it takes the client; no channel, no RPC. Every
call is recorded in `calls` as (method, arguments) for tests to assert on.

State is plain data that tests set up directly (`follow`, `post`, ...);
`fail_with` makes every later call raise (a peer that is down)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from nats.aio.client import Client as Nats
from twitter.tweets.v1 import cache_pb2, tweets_pb2
from twitter.users.v1 import lists_pb2, users_pb2

from services.shared.errors import NotFound
from services.shared.rpc.peers import FollowerPage, TweetsClient, UsersClient
from services.tweets.client.tweet_cache import Versioned
from tests.fakes.clock import FakeClock, snowflake

Call = tuple[str, tuple[Any, ...]]


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failure: Exception | None = None

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        if self.failure is not None:
            raise self.failure

    def fail_with(self, error: Exception | None) -> None:
        """Every later call raises `error` (None: answers again)."""
        self.failure = error

    def called(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments of each call of `method`, in order."""
        return [args for name, args in self.calls if name == method]


class FakeUsers(UsersClient, _Recorder):
    """Users, follows, blocks and mutes, lists. `follower_batch` is the page
    size of follower_batches (the real one pages 5000 at a time)."""

    def __init__(self, *, follower_batch: int = 1000) -> None:  # no channel
        _Recorder.__init__(self)
        self.follower_batch = follower_batch
        self.users: dict[int, users_pb2.UserSummary] = {}
        self.followees: dict[int, list[int]] = {}  # follower -> followees, in follow order
        self.relations: dict[int, users_pb2.ViewerRelations] = {}
        self.lists: dict[int, lists_pb2.ListAudience] = {}
        self.follower_counts: dict[int, int] = {}  # overrides the graph's count (celebrities)

    # Setting up -------------------------------------------------------------------

    def add_user(self, user_id: int, username: str | None = None) -> users_pb2.UserSummary:
        name = username or f"user{user_id}"
        user = users_pb2.UserSummary(user_id=user_id, username=name,
                                     display_name=name.title())
        self.users[user_id] = user
        return user

    def follow(self, follower: int, *followees: int) -> None:
        mine = self.followees.setdefault(follower, [])
        mine.extend(f for f in followees if f not in mine)

    def unfollow(self, follower: int, followee: int) -> None:
        self.followees.get(follower, []).remove(followee)

    def block(self, blocker: int, blocked: int) -> None:
        self._relations(blocker).blocked_ids.append(blocked)
        self._relations(blocked).blocked_by_ids.append(blocker)

    def mute(self, muter: int, muted: int) -> None:
        self._relations(muter).muted_ids.append(muted)

    def _relations(self, user_id: int) -> users_pb2.ViewerRelations:
        pb = self.relations.setdefault(user_id, users_pb2.ViewerRelations(user_id=user_id))
        pb.version += 1
        return pb

    def followers_of(self, user_id: int) -> list[int]:
        return sorted(f for f, followees in self.followees.items() if user_id in followees)

    # UsersClient ---------------------------------------------------------------------

    async def follow_profile_updates(self, nc: Nats) -> None:
        self._record("follow_profile_updates", nc)

    def forget(self, user_id: int) -> None:
        self._record("forget", user_id)

    async def summaries(self, user_ids: Iterable[int]) -> dict[int, users_pb2.UserSummary]:
        ids = sorted(set(user_ids))
        self._record("summaries", ids)
        return {u: self.users[u] for u in ids if u in self.users}

    async def by_username(self, usernames: Sequence[str]) -> dict[str, users_pb2.UserSummary]:
        self._record("by_username", list(usernames))
        wanted = {n.lower() for n in usernames}
        return {u.username.lower(): u for u in self.users.values()
                if u.username.lower() in wanted}

    async def follows(self, follower: int, followee: int) -> bool:
        self._record("follows", follower, followee)
        return followee in self.followees.get(follower, [])

    async def viewer_relations(self, user_id: int) -> users_pb2.ViewerRelations:
        self._record("viewer_relations", user_id)
        pb = users_pb2.ViewerRelations()
        pb.CopyFrom(self.relations.get(user_id, users_pb2.ViewerRelations(user_id=user_id)))
        return pb

    async def first_followers(self, user_id: int, *, max_count: int = 0) -> FollowerPage:
        self._record("first_followers", user_id, max_count)
        count = self.follower_counts.get(user_id, len(self.followers_of(user_id)))
        if 0 < max_count < count:
            return FollowerPage(count, [], "")
        ids = self.followers_of(user_id)[:self.follower_batch]
        more = len(self.followers_of(user_id)) > self.follower_batch
        return FollowerPage(count, ids, str(self.follower_batch) if more else "")

    async def follower_batches(self, user_id: int, *,
                               after: FollowerPage | None = None) -> AsyncIterator[list[int]]:
        if after is not None and not after.next_token:
            return  # as the real client: no call at all
        self._record("follower_batches", user_id)
        followers = self.followers_of(user_id)
        for start in range(int(after.next_token) if after else 0, len(followers),
                           self.follower_batch):
            yield followers[start:start + self.follower_batch]

    async def following(self, user_id: int) -> list[int]:
        self._record("following", user_id)
        return list(self.followees.get(user_id, []))

    async def follower_count(self, user_id: int) -> int:
        self._record("follower_count", user_id)
        return self.follower_counts.get(user_id, len(self.followers_of(user_id)))

    async def list_audience(self, list_id: int) -> lists_pb2.ListAudience:
        self._record("list_audience", list_id)
        if list_id not in self.lists:
            raise NotFound("list not found")
        return self.lists[list_id]

    async def ids_by_username(self, usernames: Sequence[str]) -> dict[str, int]:
        return {name: u.user_id for name, u in (await self.by_username(usernames)).items()}


class FakeTweets(TweetsClient, _Recorder):
    """Tweets as the tweets service stores them, with ids issued from a fake
    clock (one millisecond apart unless a test says otherwise)."""

    def __init__(self, clock: FakeClock | None = None) -> None:  # no channel
        _Recorder.__init__(self)
        self.clock = clock or FakeClock()
        self.tweets: dict[int, tweets_pb2.Tweet] = {}
        self.deleted: set[int] = set()
        self.likes: set[tuple[int, int]] = set()  # (viewer, tweet)
        self._sequence: dict[int, int] = {}  # ms -> ids issued in it
        # Run (each once, in order) after recent_ids has read its answer and
        # before it returns: what happens elsewhere while the call is in flight.
        self.while_answering: list[Callable[[], Awaitable[None]]] = []

    def post(self, author: int, content: str = "", *, retweet_of: int = 0,
             quoted: int = 0, same_millisecond: bool = False) -> int:
        """Stores a tweet (a retweet of `retweet_of`, a quote of `quoted`) and
        returns its id; the clock moves on a millisecond first unless
        `same_millisecond`."""
        if not same_millisecond:
            self.clock.advance(0.001)
        ms = self.clock.ms()
        sequence = self._sequence.get(ms, 0)
        self._sequence[ms] = sequence + 1
        tweet_id = snowflake(ms, sequence)
        tweet = tweets_pb2.Tweet(tweet_id=tweet_id, user_id=author,
                                 content=content or f"tweet {tweet_id}",
                                 quoted_tweet_id=quoted)
        if retweet_of:
            tweet.kind = tweets_pb2.TWEET_KIND_RETWEET
            tweet.retweet_of.CopyFrom(self.tweets[retweet_of])
        self.tweets[tweet_id] = tweet
        return tweet_id

    def delete(self, tweet_id: int) -> None:
        self.deleted.add(tweet_id)

    def cached(self, tweet_id: int) -> cache_pb2.CachedTweet:
        """The tweet as the tweets service caches it (viewer-independent)."""
        if tweet_id in self.deleted:
            return cache_pb2.CachedTweet(tweet=tweets_pb2.Tweet(tweet_id=tweet_id),
                                         deleted=True)
        tweet = tweets_pb2.Tweet()
        tweet.CopyFrom(self.tweets[tweet_id])
        if tweet.kind == tweets_pb2.TWEET_KIND_RETWEET:
            tweet.retweet_of.Clear()
            tweet.retweet_of.tweet_id = self.tweets[tweet_id].retweet_of.tweet_id
        return cache_pb2.CachedTweet(tweet=tweet)

    def versioned(self, tweet_id: int, version: int = 1) -> tuple[int, Versioned]:
        return tweet_id, Versioned(version, self.cached(tweet_id))

    # TweetsClient ---------------------------------------------------------------------

    async def recent_ids(self, user_id: int, count: int, before: int = 0) -> list[int]:
        self._record("recent_ids", user_id, count, before)
        ids = sorted((t for t, tweet in self.tweets.items()
                      if tweet.user_id == user_id and t not in self.deleted
                      and (not before or t < before)), reverse=True)[:count]
        if self.while_answering:
            await self.while_answering.pop(0)()
        return ids

    async def hydrate(self, tweet_ids: Sequence[int], viewer_id: int) -> list[tweets_pb2.Tweet]:
        self._record("hydrate", list(tweet_ids), viewer_id)
        found = []
        for tweet_id in tweet_ids:
            if tweet_id not in self.tweets or tweet_id in self.deleted:
                continue
            tweet = tweets_pb2.Tweet()
            tweet.CopyFrom(self.tweets[tweet_id])
            original = tweet.retweet_of.tweet_id
            if original and original in self.deleted:
                continue
            tweet.liked_by_viewer = (viewer_id, tweet_id) in self.likes
            found.append(tweet)
        return found
