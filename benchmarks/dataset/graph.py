"""The benchmark's social network, generated deterministically from a seed: no
I/O here, so the same seed always yields the same ids, names, graph and tweets
(which is what makes re-running the loader idempotent).

Shape, after DeathStarBench's socialNetwork and the design notes:
- follows: each user follows a heavy-tailed number of others (mean
  `mean_following`), picked by a Zipf popularity, so in-degrees follow a power
  law; the `celebrities` most popular users get more than the timeline
  service's CELEBRITY_THRESHOLD followers (follower-only "lurker" accounts make
  up the difference when there are fewer users than that);
- tweets: authors by a Zipf activity, with hashtags (Zipf over 500 tags),
  @mentions of popular users, 15% replies to recent tweets, likes (about two
  per tweet) and retweets (one per ten tweets) weighted by the author's
  popularity.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.shared.snowflake.ids import EPOCH_MS

# Ids are snowflakes from fixed instants before the anchor, so they never
# collide with ids the services issue (theirs are from "now"); the worker bits
# tell the seeds apart (seeds 0-7 give disjoint datasets).
ANCHOR_MS = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1000)
USERS_SPAN_MS = 90 * 24 * 3600 * 1000  # sign-ups over the 90 days before the tweets
TWEETS_SPAN_MS = 30 * 24 * 3600 * 1000  # tweets over the 30 days before the anchor
FIRST_WORKER = 1000

TAGS = [f"topic{i}" for i in range(500)]
WORDS = [
    "the", "a", "new", "day", "good", "just", "now", "we", "you", "love", "see", "time", "people",
    "think", "this", "great", "way", "make", "work", "here", "look", "back", "life", "world",
    "today", "still", "want", "going", "know", "really",
]
CELEBRITY_MARGIN = 0.05  # celebrities end 5-15% above the threshold


def snowflake(ms: int, worker: int, sequence: int) -> int:
    return ((ms - EPOCH_MS) << 22) | (worker << 12) | (sequence & 0xFFF)


@dataclass(frozen=True)
class Spec:
    users: int = 10_000
    tweets: int = 100_000
    seed: int = 1
    celebrities: int = 3
    celebrity_threshold: int = 20_000
    mean_following: int = 20
    likes_per_tweet: float = 2.0
    retweets_per_tweet: float = 0.1
    reply_share: float = 0.15

    @property
    def prefix(self) -> str:
        return f"ds{self.seed}"

    def worker(self, role: int) -> int:
        """The id worker bits of this seed's users (0), tweets (1), likes and retweets (2)."""
        return FIRST_WORKER + 3 * (self.seed % 8) + role


@dataclass(frozen=True)
class User:
    user_id: int
    username: str


@dataclass
class Tweet:
    tweet_id: int
    author: int
    content: str
    reply_to: int = 0
    likes: list[tuple[int, int]] = field(default_factory=list)  # (user, like id)
    retweets: list[tuple[int, int]] = field(default_factory=list)  # (user, retweet id)
    replies: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Dataset:
    spec: Spec
    users: list[User]  # ranked by popularity: users[0] is the most followed
    lurkers: list[User]  # follow the celebrities only, post nothing
    follows: list[tuple[int, int]]  # (follower, followee)
    celebrities: list[int]
    tweets: list[Tweet]  # in id order

    @property
    def accounts(self) -> list[User]:
        return self.users + self.lurkers


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


class _Sequences:
    """Unique snowflakes for instants chosen freely (likes, retweets)."""

    def __init__(self, worker: int) -> None:
        self._worker = worker
        self._next: dict[int, int] = {}

    def at(self, ms: int) -> int:
        while (n := self._next.get(ms, 0)) > 0xFFF:
            ms += 1
        self._next[ms] = n + 1
        return snowflake(ms, self._worker, n)


def generate(spec: Spec) -> Dataset:
    rng = random.Random(spec.seed)
    users = [User(snowflake(ANCHOR_MS - TWEETS_SPAN_MS - USERS_SPAN_MS + i * 7, spec.worker(0), 0),
                  f"{spec.prefix}u{i}") for i in range(spec.users)]
    ids = [u.user_id for u in users]
    popularity = list(itertools.accumulate(_zipf_weights(spec.users, 1.0)))
    follows = set(_follows(rng, ids, popularity, spec.mean_following))
    celebrities = ids[:spec.celebrities]
    lurkers: list[User] = []
    for rank, celebrity in enumerate(celebrities):
        target = int(spec.celebrity_threshold * (1 + CELEBRITY_MARGIN * (1 + rank)))
        fans = [u for u in ids if u != celebrity]
        rng.shuffle(fans)
        follows.update((f, celebrity) for f in fans[:target])
        missing = target - min(target, len(fans))
        while len(lurkers) < missing:
            i = len(lurkers)
            lurkers.append(User(snowflake(ANCHOR_MS - TWEETS_SPAN_MS - 1000 - i, spec.worker(0), 1),
                                f"{spec.prefix}l{i}"))
        follows.update((lurker.user_id, celebrity) for lurker in lurkers[:missing])
    tweets = _tweets(rng, spec, users, popularity)
    return Dataset(spec, users, lurkers, sorted(follows), celebrities, tweets)


def _follows(rng: random.Random, ids: list[int], popularity: list[float],
             mean: int) -> Iterator[tuple[int, int]]:
    for follower in ids:
        # Heavy-tailed out-degree (Pareto, alpha 2, i.e. mean twice the minimum).
        wanted = min(int(rng.paretovariate(2.0) * mean / 2), len(ids) // 2)
        for followee in rng.choices(ids, cum_weights=popularity, k=wanted):
            if followee != follower:
                yield follower, followee


def _tweets(rng: random.Random, spec: Spec, users: list[User],
            popularity: list[float]) -> list[Tweet]:
    ids = [u.user_id for u in users]
    # Activity is Zipf too, over a shuffled order: the most active are not
    # always the most followed.
    active = ids[:]
    rng.shuffle(active)
    activity = list(itertools.accumulate(_zipf_weights(len(active), 0.8)))
    authors = rng.choices(active, cum_weights=activity, k=spec.tweets)
    step = max(1, TWEETS_SPAN_MS // max(1, spec.tweets))
    start = ANCHOR_MS - TWEETS_SPAN_MS
    tweets: list[Tweet] = []
    for i, author in enumerate(authors):
        reply_to = 0
        if tweets and rng.random() < spec.reply_share:
            parent = tweets[rng.randrange(max(0, i - 2000), i)]
            reply_to = parent.tweet_id
        tweet = Tweet(snowflake(start + i * step, spec.worker(1), 0), author,
                      _content(rng, users, popularity), reply_to)
        if reply_to:
            parent.replies.append(tweet.tweet_id)
        tweets.append(tweet)
    _engage(rng, spec, tweets, ids, popularity, step)
    return tweets


def _content(rng: random.Random, users: list[User], popularity: list[float]) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 16))]
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 2)):
            tag = TAGS[min(int(rng.paretovariate(1.1)) - 1, len(TAGS) - 1)]
            words.insert(rng.randrange(len(words) + 1), f"#{tag}")
    if rng.random() < 0.2:
        mentioned = rng.choices(users, cum_weights=popularity, k=rng.randint(1, 2))
        words[:0] = [f"@{u.username}" for u in mentioned]
    return " ".join(words)


def _engage(rng: random.Random, spec: Spec, tweets: list[Tweet], ids: list[int],
            popularity: list[float], step: int) -> None:
    """Likes and retweets, more of them on popular authors' tweets."""
    rank = {u: r for r, u in enumerate(ids)}
    weights = list(itertools.accumulate(1.0 / (rank[t.author] + 1) ** 0.5 for t in tweets))
    sequences = _Sequences(spec.worker(2))
    for count, retweet in ((int(spec.tweets * spec.likes_per_tweet), False),
                           (int(spec.tweets * spec.retweets_per_tweet), True)):
        seen: set[tuple[int, int]] = set()
        for tweet in rng.choices(tweets, cum_weights=weights, k=count):
            user = rng.choice(ids)
            if user == tweet.author or (tweet.tweet_id, user) in seen:
                continue
            seen.add((tweet.tweet_id, user))
            ms = ((tweet.tweet_id >> 22) + EPOCH_MS) + rng.randrange(1, 50 * step)
            engagement = (user, sequences.at(min(ms, ANCHOR_MS)))
            (tweet.retweets if retweet else tweet.likes).append(engagement)
