"""Follow-up writes: what a committed change implies outside its own partition.

A change commits in one tweet partition (see outbox.py); the rows indexing it
elsewhere follow it. Each step is a plain write at a timestamp derived from the
id it indexes, its removal one microsecond later, so the request path and the
outbox relay may both run it, in any order and as often as they like: a late
replay of an insert loses to an earlier removal.

- user_tweets rows index a user's tweets.
- A reply is a row in its parent's partition (kind 3, member = the reply's id)
  that a recount (counts.py) turns into the parent's reply count.
- A quote is the same in the quoted tweet's partition (kind 4), counted into
  its quote count.
- A poll's end is a row of the due-time index `poll_ends` (polls/ends.py), so a
  create the relay finishes schedules its poll's end too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import IntEnum

from cassandra.query import PreparedStatement

from services.shared.stores.cassandra import Params
from services.tweets.counts import Counter
from services.tweets.domain import Kind
from services.tweets.polls.ends import PollEndLog
from services.tweets.repository import RowKind, TweetStore, write_time

Step = dict[str, int]
Statement = tuple[PreparedStatement, Params]


class Op(IntEnum):
    """A step's "op": stored in outbox rows as the number, so never renumber."""

    INDEX = 0
    UNINDEX = 1
    ADD_REPLY = 2
    REMOVE_REPLY = 3
    ADD_QUOTE = 4
    REMOVE_QUOTE = 5
    SCHEDULE_POLL_END = 6
    UNSCHEDULE_POLL_END = 7

# The count row each edge step writes, and whether it removes it.
_EDGES = {Op.ADD_REPLY: (RowKind.REPLY, False), Op.REMOVE_REPLY: (RowKind.REPLY, True),
          Op.ADD_QUOTE: (RowKind.QUOTE, False), Op.REMOVE_QUOTE: (RowKind.QUOTE, True)}


def index(user: int, tweet: int, kind: Kind, retweet_of: int = 0) -> Step:
    return {"op": int(Op.INDEX), "user": user, "tweet": tweet, "kind": int(kind),
            "original": retweet_of}


def unindex(user: int, tweet: int) -> Step:
    return {"op": int(Op.UNINDEX), "user": user, "tweet": tweet}


def add_reply(parent: int, reply: int) -> Step:
    return {"op": int(Op.ADD_REPLY), "parent": parent, "reply": reply}


def remove_reply(parent: int, reply: int) -> Step:
    return {"op": int(Op.REMOVE_REPLY), "parent": parent, "reply": reply}


def add_quote(quoted: int, quote: int) -> Step:
    """Quote steps reuse the reply steps' fields: the counted tweet is the "parent"."""
    return {"op": int(Op.ADD_QUOTE), "parent": quoted, "reply": quote}


def remove_quote(quoted: int, quote: int) -> Step:
    return {"op": int(Op.REMOVE_QUOTE), "parent": quoted, "reply": quote}


def schedule_poll_end(tweet: int, ends_ms: int) -> Step:
    return {"op": int(Op.SCHEDULE_POLL_END), "tweet": tweet, "ends": ends_ms}


def undo_step(step: Step) -> Step:
    """The step that takes this one back (for a create the relay fences)."""
    match step:
        case {"op": Op.INDEX, "user": user, "tweet": tweet}:
            return unindex(user, tweet)
        case {"op": Op.ADD_REPLY, "parent": parent, "reply": reply}:
            return remove_reply(parent, reply)
        case {"op": Op.ADD_QUOTE, "parent": quoted, "reply": quote}:
            return remove_quote(quoted, quote)
        case {"op": Op.SCHEDULE_POLL_END, "tweet": tweet, "ends": ends}:
            return {"op": int(Op.UNSCHEDULE_POLL_END), "tweet": tweet, "ends": ends}
    raise ValueError(f"step {step!r} has no undo")


def indexed_users(steps: list[Step]) -> set[int]:
    """The users whose index rows (user_tweets) the steps write."""
    return {s["user"] for s in steps if s["op"] in (Op.INDEX, Op.UNINDEX)}


# Told which users' index rows were written (user_pages.py stops serving copies).
Indexed = Callable[[set[int]], Awaitable[None]]


async def _nobody(users: set[int]) -> None:
    return None


class FollowUps:
    def __init__(self, store: TweetStore, counter: Counter, poll_ends: PollEndLog, *,
                 indexed: Indexed = _nobody) -> None:
        self._store = store
        self._counter = counter
        self._poll_ends = poll_ends
        self._indexed = indexed

    async def run(self, steps: list[Step], *, written: bool = False,
                  tell_indexed: bool = True) -> None:
        """Writes the steps (unless the change's own batch carried them) and waits
        for the counts they move. Without `tell_indexed` the caller tells whom
        they indexed (indexed_users) itself."""
        if not written:
            await self._store.write(self.statements(steps))
        users = indexed_users(steps)
        if users and tell_indexed:
            await self._indexed(users)
        for step in steps:
            edge = _EDGES.get(Op(step["op"]))
            if edge is not None:
                await self._counter.settle(step["parent"], edge[0], step["reply"])

    def statements(self, steps: list[Step]) -> list[Statement]:
        return [self._statement(step) for step in steps]

    def _statement(self, step: Step) -> Statement:
        store = self._store
        match step:
            case {"op": Op.INDEX, "user": user, "tweet": tweet, "kind": kind,
                  "original": original}:
                return store.statement("index", (user, tweet, kind, original, write_time(tweet)))
            case {"op": Op.UNINDEX, "user": user, "tweet": tweet}:
                return store.statement("unindex", (write_time(tweet) + 1, user, tweet))
            case {"op": op, "parent": parent, "reply": reply} if Op(op) in _EDGES:
                kind, removed = _EDGES[Op(op)]
                return store.set_pair(parent, kind, reply, 0, alive=not removed,
                                      at=write_time(reply) + removed)
            case {"op": Op.SCHEDULE_POLL_END, "tweet": tweet, "ends": ends}:
                return self._poll_ends.schedule(tweet, ends)
            case {"op": Op.UNSCHEDULE_POLL_END, "tweet": tweet, "ends": ends}:
                return self._poll_ends.unschedule(tweet, ends)
        raise ValueError(f"unknown follow-up step {step!r}")
