"""Changes to a tweet partition, with events that are never lost.

Every change (create, edit, delete, like, unlike, retweet, unretweet) is one
lightweight transaction on one tweet partition. The same conditional batch
stores an *event row* under the operation id: the serialized events and the
follow-up steps (followups.py). Before it, an intent row names the operation
and the partition (services/shared/cql_outbox.py); after it the request runs the
follow-ups, publishes each event with its event id as Nats-Msg-Id, waits for
JetStream's ack, and deletes the intent.

When anything after the commit fails (NATS down, the process killed), the
intent stays and the relay resolves it: it writes a *fence* row under the same
operation id with IF NOT EXISTS. If the fence goes in, the change never
committed, and it never will, because the change's batch requires the event row
to be new. If it does not go in, the row it found holds the committed events:
the relay runs the follow-ups and publishes them. An event can thus be
published twice (request and relay racing), which JetStream's de-duplication by
message id and idempotent consumers absorb, but never zero times.

Event rows and fences expire after `event_ttl_seconds` (default 30 days), far
longer than any operation stays in flight or any outage the relay waits out.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cassandra import OperationTimedOut, WriteTimeout
from cassandra.query import PreparedStatement

from services.shared.cassandra import Params
from services.shared.cql_outbox import Intent, IntentLog
from services.shared.errors import DomainError, Unavailable
from services.shared.events import Event
from services.shared.ids import IdGenerator
from services.shared.keyed_lock import KeyedLocks
from services.shared.logging import get_logger
from services.tweets import events as tweet_events
from services.tweets.followups import FollowUps, Step, backoff, touched
from services.tweets.repository import RowKind, StoredEvents, TweetStore, stored_from_row

log = get_logger(__name__)

Publish = Callable[[Event], Awaitable[None]]
# Called with the tweets a committed change (and its follow-ups) touched, before
# its events go out: the tweet cache's refresh.
Changed = Callable[[list[int]], Awaitable[None]]


async def _nothing_changed(tweet_ids: list[int]) -> None:
    return None
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


class Outbox:
    def __init__(self, store: TweetStore, intents: IntentLog, ids: IdGenerator,
                 followups: FollowUps, publish: Publish, locks: KeyedLocks, *,
                 event_ttl_seconds: int, changed: Changed = _nothing_changed) -> None:
        self._store = store
        self._intents = intents
        self._ids = ids
        self._followups = followups
        self._publish = publish
        self._locks = locks
        self._ttl = event_ttl_seconds
        self._changed = changed

    async def apply(self, tweet_id: int, plan: Plan) -> bool:
        """Runs the plan until its change commits; False when there was nothing to do.

        Changes to one partition queue on a per-process lock, so a burst of likes
        on one tweet takes turns instead of losing compare-and-set rounds to each
        other; across replicas the compare-and-set keeps them exact."""
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
            await self._intents.remove(op_id)
            return False
        await self._finish(op_id, tweet_id, committed)
        return True

    async def _commit(self, op_id: int, tweet_id: int, plan: Plan) -> StoredEvents | None:
        for attempt in range(MAX_ATTEMPTS):
            change = await plan(attempt > 0)
            if change is None:
                return None
            stored = StoredEvents([e.subject for e in change.events],
                                  [e.payload for e in change.events],
                                  json.dumps([dict(e.trace_headers) for e in change.events]),
                                  json.dumps(change.followups), fenced=False)
            event_row = self._store.statement("insert_event", (
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

    async def _finish(self, op_id: int, tweet_id: int, stored: StoredEvents) -> None:
        try:
            await self._deliver(tweet_id, stored)
            await self._intents.remove(op_id)
        except Exception:
            # Committed all the same: the relay runs what is missing from the intent.
            log.warning("follow-up or publish failed; the outbox relay will retry",
                        op_id=op_id, exc_info=True)

    async def resolve(self, intent: Intent) -> None:
        """The relay's callback: fence the operation, then finish it if it committed."""
        ok, rows = await self._store.conditional(
            self._store.statement("fence", (intent.ref, intent.op_id, self._ttl)))
        if not ok and rows:
            stored = stored_from_row(rows[0])
            if not stored.fenced:
                await self._deliver(intent.ref, stored)
                log.info("outbox relay finished a change", op_id=intent.op_id,
                         events=len(stored.subjects))
        await self._intents.remove(intent.op_id)

    async def _deliver(self, tweet_id: int, stored: StoredEvents) -> None:
        """Follow-ups first (consumers may read what the event announces), then the
        cache, then events."""
        steps = json.loads(stored.followups)
        await self._followups.run(steps)
        await self._changed([tweet_id, *touched(steps)])
        traces = json.loads(stored.traces)
        for subject, payload, trace in zip(stored.subjects, stored.payloads, traces,
                                           strict=True):
            await self._publish(tweet_events.decode(subject, payload, trace))


def _ours(found: StoredEvents) -> StoredEvents:
    if found.fenced:  # the relay gave up on this operation before it landed
        raise Unavailable("the change was abandoned; try again")
    return found
