"""Changes to a tweet partition, with events that are never lost.

Before any change an intent row names the operation and the partition
(services/shared/messaging/cql_outbox.py); once the change's events are published, the
intent is dropped. When anything in between fails (NATS down, the process
killed), the intent stays and the relay resolves it. How depends on the change:

- Creating a tweet is plain writes (a fresh id conflicts with nothing), in one
  round trip: the tweet, an *event row* in its partition holding the serialized
  events and follow-up steps (followups.py), and the follow-ups themselves. The
  relay reads the event row: if it is there the create happened, and the relay
  runs the follow-ups and publishes; if not, it deletes the partition at the
  create's own timestamp, so no part of the create can ever appear later.
- Edits and deletes are lightweight transactions that store the event row in
  the same Paxos round. The relay writes a *fence* row under the operation id
  with IF NOT EXISTS: if it goes in, the change never committed and never will
  (its batch requires the event row to be new); if not, the row it found holds
  the committed events to publish.
- Likes and retweets carry a redo record in the intent, and the relay applies
  them again (pairs.py).

An event can thus be published twice (request and relay racing), which
JetStream's de-duplication by message id and idempotent consumers absorb, but
never zero times. Event rows and fences expire after `event_ttl_seconds`
(default 30 days), far longer than any operation stays in flight.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cassandra import OperationTimedOut, WriteTimeout
from cassandra.query import PreparedStatement

from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.errors import DomainError, Unavailable
from services.shared.messaging.cql_outbox import Intent, IntentLog
from services.shared.messaging.events import Event
from services.shared.observability.logging import get_logger
from services.shared.snowflake.ids import IdGenerator
from services.shared.stores.cassandra import Params
from services.tweets import events as tweet_events
from services.tweets.counts import backoff
from services.tweets.domain import TweetRecord
from services.tweets.followups import FollowUps, Step, indexed_users, undo_step
from services.tweets.pairs import PairWriter
from services.tweets.repository import (
    RowKind,
    StoredEvents,
    TweetStore,
    stored_from_row,
    write_time,
)

log = get_logger(__name__)

# Called with the tweets a committed change touched, before its events go out:
# the tweet cache's refresh (or, for a new tweet, its fill from the record, told
# too whose index rows the create wrote: user_pages.py, in the same round trip).
Changed = Callable[[list[int]], Awaitable[None]]
Created = Callable[[TweetRecord, set[int]], Awaitable[None]]
MAX_ATTEMPTS = 40


@dataclass(frozen=True)
class Change:
    """Statements to apply atomically to one tweet partition, and what follows."""

    statements: list[tuple[PreparedStatement, Params]]
    events: list[Event]
    followups: list[Step] = field(default_factory=list)


# Reads the partition's current state (with SERIAL consistency when `fresh`, after
# a compare-and-set was lost) and returns the change to make, or None when there
# is nothing to change. It may raise a DomainError (NOT_FOUND, ...).
Plan = Callable[[bool], Awaitable[Change | None]]


def _stored(change: Change) -> StoredEvents:
    return StoredEvents([e.subject for e in change.events], [e.payload for e in change.events],
                        json.dumps([dict(e.trace_headers) for e in change.events]),
                        json.dumps(change.followups), fenced=False)


class Outbox:
    def __init__(self, store: TweetStore, intents: IntentLog, ids: IdGenerator,
                 followups: FollowUps, pairs: PairWriter, publish: tweet_events.Publish,
                 locks: KeyedLocks, *, event_ttl_seconds: int, changed: Changed,
                 created: Created) -> None:
        self._store = store
        self._intents = intents
        self._ids = ids
        self._followups = followups
        self._pairs = pairs
        self._publish = publish
        self._locks = locks
        self._ttl = event_ttl_seconds
        self._changed = changed
        self._created = created

    async def create(self, tweet: TweetRecord, change: Change) -> None:
        """Writes a new tweet with its event row and follow-ups in one round trip.
        The operation id is the tweet id."""
        tweet_id = tweet.tweet_id
        stored = _stored(change)
        event_row = self._store.statement("insert_event", (
            tweet_id, tweet_id, stored.subjects, stored.payloads, stored.traces,
            stored.followups, self._ttl, write_time(tweet_id)))
        # The intent keeps the steps: a fence must take back those that landed.
        await self._intents.add(tweet_id, tweet_id, op=json.dumps({"create": change.followups}))
        try:
            await self._store.write([*change.statements, event_row,
                                     *self._followups.statements(change.followups)])
        except Exception as exc:
            log.exception("tweet create unconfirmed", tweet_id=tweet_id)
            raise Unavailable("the tweet could not be confirmed; try again") from exc
        try:
            await self._followups.run(change.followups, written=True, tell_indexed=False)
            await self._created(tweet, indexed_users(change.followups))
            for event in change.events:  # as stored: no need to decode the row
                await self._publish(event)
            self._intents.discard(tweet_id)
        except Exception:
            log.warning("follow-up or publish failed; the outbox relay will retry",
                        op_id=tweet_id, exc_info=True)

    async def close(self) -> None:
        """Deletes the intents of operations finished but not yet cleared
        (they are deleted in bursts), so that the relay has none to redo."""
        await self._intents.flush()

    async def apply(self, tweet_id: int, plan: Plan) -> bool:
        """Runs the plan until its change commits; False when there was nothing to do.

        Changes to one partition queue on a per-process lock, so a burst of edits
        takes turns instead of losing compare-and-set rounds to each other; across
        replicas the compare-and-set keeps them exact."""
        op_id = self._ids.next_id()
        await self._intents.add(op_id, tweet_id)
        try:
            async with self._locks.hold([str(tweet_id)]):
                committed = await self._commit(op_id, tweet_id, plan)
        except DomainError:
            await self._intents.remove(op_id)  # decided: nothing was written
            raise
        except Exception as exc:
            # The outcome is unknown; the relay settles it from the intent.
            log.exception("tweet change failed", op_id=op_id, tweet_id=tweet_id)
            raise Unavailable("the change could not be confirmed; try again") from exc
        if committed is None:
            self._intents.discard(op_id)
            return False
        try:
            await self._deliver(tweet_id, committed)
            self._intents.discard(op_id)
        except Exception:
            # Committed all the same: the relay runs what is missing from the intent.
            log.warning("follow-up or publish failed; the outbox relay will retry",
                        op_id=op_id, exc_info=True)
        return True

    async def _commit(self, op_id: int, tweet_id: int, plan: Plan) -> StoredEvents | None:
        for attempt in range(MAX_ATTEMPTS):
            change = await plan(attempt > 0)
            if change is None:
                return None
            stored = _stored(change)
            event_row = self._store.statement("insert_event_if_new", (
                tweet_id, op_id, stored.subjects, stored.payloads, stored.traces,
                stored.followups, self._ttl))
            try:
                ok, rows = await self._store.conditional(*change.statements, event_row)
            except (WriteTimeout, OperationTimedOut):
                # A timed-out Paxos round may still land; a SERIAL read settles it.
                found = await self._store.stored_events(tweet_id, op_id)
                if found is None:
                    continue
                return _ours(found)
            if ok:
                return stored
            # Our own event row already there: an earlier, timed-out attempt committed.
            own = [r for r in rows if r.get("kind") == RowKind.EVENT and r.get("member") == op_id]
            if own:
                return _ours(stored_from_row(own[0]))
            await backoff(attempt)
        raise Unavailable("the tweet is busy; try again")

    async def resolve(self, intent: Intent) -> None:
        """The relay's callback: finish the operation, or make sure it never lands."""
        record = json.loads(intent.op) if intent.op else None
        if isinstance(record, dict) and "create" in record:
            await self._resolve_create(intent.ref, record["create"])
        elif intent.op:
            await self._pairs.redo(intent.op)
        else:
            await self._resolve_change(intent)
        await self._intents.remove(intent.op_id)

    async def settle_create(self, tweet_id: int, steps: list[Step]) -> bool:
        """Decides an earlier attempt's create now, as the relay would: True
        when it landed (and is finished), False when it is fenced for good.
        A retry under the same Idempotency-Key calls it before creating anew,
        so an unconfirmed create and its retry make exactly one tweet."""
        return await self._resolve_create(tweet_id, steps)

    async def _resolve_create(self, tweet_id: int, steps: list[Step]) -> bool:
        stored = await self._store.stored_events(tweet_id, tweet_id)
        if stored is not None and not stored.fenced:
            await self._deliver(tweet_id, stored)
            log.info("outbox relay finished a create", tweet_id=tweet_id)
            return True
        # Never confirmed: remove every part of it, now and should it land later
        # (the removals are written at later timestamps than the create's writes).
        undo = [undo_step(step) for step in steps]
        await self._store.write([
            self._store.statement("fence_create", (write_time(tweet_id), tweet_id)),
            *self._followups.statements(undo)])
        await self._followups.run(undo, written=True)
        await self._changed([tweet_id])
        log.info("outbox relay fenced an unconfirmed create", tweet_id=tweet_id)
        return False

    async def _resolve_change(self, intent: Intent) -> None:
        ok, rows = await self._store.conditional(
            self._store.statement("fence", (intent.ref, intent.op_id, self._ttl)))
        if not ok and rows:
            stored = stored_from_row(rows[0])
            if not stored.fenced:
                await self._deliver(intent.ref, stored)
                log.info("outbox relay finished a change", op_id=intent.op_id,
                         events=len(stored.subjects))

    async def _deliver(self, tweet_id: int, stored: StoredEvents) -> None:
        """Follow-ups first (consumers may read what the event announces), then the
        cache, then events."""
        await self._followups.run(json.loads(stored.followups))
        await self._changed([tweet_id])
        await self._announce(stored)

    async def _announce(self, stored: StoredEvents) -> None:
        traces = json.loads(stored.traces)
        for subject, payload, trace in zip(stored.subjects, stored.payloads, traces,
                                           strict=True):
            await self._publish(tweet_events.decode(subject, payload, trace))


def _ours(found: StoredEvents) -> StoredEvents:
    if found.fenced:  # the relay gave up on this operation before it landed
        raise Unavailable("the change was abandoned; try again")
    return found
