"""Likes and retweets as rows of their own, one per (tweet, user), written
without a transaction and finished by the outbox relay when unconfirmed.

A like is the row (tweet, kind 1, member = the user) whose ref_id is the like
id; unliking marks the row removed, never deletes it, so the next change can be
written at a timestamp after the row's last one and the newest decision wins
wherever it lands (a retweet is the same with kind 2 and the retweet's id).

Each change is a redo record (`PairOp`). It goes into its outbox intent first,
then is applied as one round trip of idempotent writes at fixed timestamps: the
row, and what derives from it (tweet_likers and user_likes rows; for a retweet,
its own tweet partition and the retweeter's index row). The writer then waits
for a recount (counts.py), publishes the events if its write is the row's state
the recount saw, and drops the intent. A crash anywhere leaves the intent, and
the relay applies the record again (the same writes at the same timestamps
change nothing that had landed) and finishes it, so the outcome of a change
the caller saw fail with UNAVAILABLE is the change done.

Of two changes racing for one user's row (a retried request, two devices), the
later timestamp wins; the loser takes back its derived rows and publishes
nothing. Event ids derive from the operation id, so the relay's replay of an
event the request path published is dropped by JetStream's de-duplication.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cassandra.query import PreparedStatement

from services.shared.errors import Unavailable
from services.shared.messaging.cql_outbox import IntentLog
from services.shared.messaging.events import Event
from services.shared.observability.logging import get_logger
from services.shared.snowflake.ids import id_time
from services.shared.stores.cassandra import Params
from services.tweets import events
from services.tweets.counts import Changed, Counter
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.repository import Pair, RowKind, TweetStore, write_time

log = get_logger(__name__)
Statement = tuple[PreparedStatement, Params]



@dataclass(frozen=True)
class PairOp:
    """One user's like, unlike, retweet or unretweet of one tweet."""

    op_id: int
    tweet: int  # the liked or retweeted tweet (an original)
    author: int  # its author, whom the events name
    user: int
    kind: RowKind  # LIKE or RETWEET
    ref: int  # the like or retweet this change adds or removes
    on: bool  # adds (like, retweet) or removes
    at: int  # write time (microseconds) of the row change

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PairOp:
        fields = json.loads(text)
        return cls(**fields | {"kind": RowKind(fields["kind"])})

    def won(self, pair: Pair | None) -> bool:
        """Whether the row, as a recount after this change saw it, is this change."""
        return pair is not None and pair.ref_id == self.ref and pair.alive == self.on


def retweet_record(retweet: int, user: int, original: int) -> TweetRecord:
    created = id_time(retweet)
    return TweetRecord(
        tweet_id=retweet, user_id=user, kind=Kind.RETWEET,
        current=Revision(1, "", [], [], [], created), media_ids=[], created_at=created,
        edited_at=None, like_count=0, retweet_count=0, reply_count=0, reply_to=0,
        retweet_of=original, deleted=False,
    )


class PairWriter:
    def __init__(self, store: TweetStore, intents: IntentLog, counter: Counter,
                 publish: events.Publish, changed: Changed) -> None:
        self._store = store
        self._intents = intents
        self._counter = counter
        self._publish = publish
        self._changed = changed

    async def apply(self, op: PairOp) -> Pair | None:
        """Writes the change and finishes it; returns the row as the recount after
        it saw it (None when that part failed and the relay finishes it)."""
        await self._intents.add(op.op_id, op.tweet, op=op.to_json())
        try:
            await self._store.write(self._writes(op))
        except Exception as exc:
            log.warning("pair change unconfirmed; the outbox relay finishes it",
                        op_id=op.op_id, exc_info=True)
            raise Unavailable("the change could not be confirmed; it completes shortly"
                              ) from exc
        try:
            return await self.finish(op)
        except Exception:
            # Written all the same: the relay recounts and publishes from the intent.
            log.warning("recount or publish failed; the outbox relay will finish",
                        op_id=op.op_id, exc_info=True)
            return None

    async def redo(self, record: str) -> None:
        """The relay's path: the same writes again, then the rest."""
        op = PairOp.from_json(record)
        await self._store.write(self._writes(op))
        await self.finish(op)

    async def finish(self, op: PairOp) -> Pair | None:
        pair, count = await self._counter.settle(op.tweet, op.kind, op.user)
        if pair is not None:
            await self._tidy(op, pair)
        if op.won(pair):
            if op.kind is RowKind.RETWEET:
                await self._changed([op.ref])  # the retweet's own entry, new or retired
            for event in self._events(op, count):
                await self._publish(event)
        self._intents.discard(op.op_id)
        return pair

    async def _tidy(self, op: PairOp, pair: Pair) -> None:
        """Takes back the derived rows of every ref the row no longer holds: a
        change overtaken by a later one (its own, or one it never saw) leaves
        none behind. A retired retweet may have been announced: its deletion is
        announced too, under an id every tidier shares."""
        stale = set(pair.refs) - ({pair.ref_id} if pair.alive else set())
        if not stale:
            return
        await self._store.write([*(w for ref in sorted(stale) for w in self._unwind(op, ref)),
                                 self._store.drop_refs(op.tweet, op.kind, pair, stale)])
        if op.kind is RowKind.RETWEET:
            await self._changed(sorted(stale))
            for ref in sorted(stale):
                await self._publish(_retired(ref, op.user, op.tweet))

    def _writes(self, op: PairOp) -> list[Statement]:
        row = self._store.set_pair(op.tweet, op.kind, op.user, op.ref, alive=op.on, at=op.at)
        return [row, *(self._derived(op) if op.on else self._unwind(op, op.ref))]

    def _derived(self, op: PairOp) -> list[Statement]:
        s, at = self._store.statement, write_time(op.ref)
        if op.kind is RowKind.LIKE:
            return [s("add_liker", (op.tweet, op.ref, op.user, at)),
                    s("add_user_like", (op.user, op.ref, op.tweet, at))]
        return [self._store.insert_tweet(retweet_record(op.ref, op.user, op.tweet)),
                s("index", (op.user, op.ref, int(Kind.RETWEET), op.tweet, at))]

    def _unwind(self, op: PairOp, ref: int) -> list[Statement]:
        """Takes back what `_derived` wrote for the user's like or retweet `ref`,
        at a later timestamp, so a late replay of it changes nothing."""
        s, at = self._store.statement, write_time(ref) + 1
        if op.kind is RowKind.LIKE:
            return [s("remove_liker", (at, op.tweet, ref)),
                    s("remove_user_like", (at, op.user, ref))]
        return [s("retire", (at, ref)), s("unindex", (at, op.user, ref))]

    def _events(self, op: PairOp, count: int) -> list[Event]:
        event_id = f"{op.op_id:x}"
        if op.kind is RowKind.LIKE:
            return [events.like_changed(op.tweet, op.author, op.user, count, liked=op.on,
                                        event_id=event_id)]
        at = id_time(op.ref)
        if op.on:
            made = events.retweet_created(op.ref, op.user, op.tweet, at, event_id=f"{event_id}-r")
        else:
            made = _retired(op.ref, op.user, op.tweet)
        return [made, events.retweet_changed(op.tweet, op.author, op.user, op.ref, count,
                                             retweeted=op.on, event_id=event_id)]


def _retired(retweet: int, user: int, original: int) -> Event:
    """A retweet's deletion, under one id whoever announces it (JetStream keeps one)."""
    return events.retweet_deleted(retweet, user, original, id_time(retweet),
                                  event_id=f"{retweet:x}-retired")
