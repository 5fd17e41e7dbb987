"""Meilisearch index management: creating an index with its settings (awaited),
bulk loading with bounded queues, and the rebuild that swaps a new index in."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from typing import Any

from services.search.backend import TweetDoc, UserDoc
from services.search.meili.client import Meili, TaskFailed
from services.search.meili.schema import IndexSpec, tombstone, tweet_document, user_document

# A settings change on a large index reindexes it: allow for that.
SETTINGS_TIMEOUT_SECONDS = 900.0
# Bulk loads: documents per task, and how many of our tasks may be unfinished.
# Meilisearch indexes consecutive document tasks of an index as one batch, so a
# few tasks in the queue keep it busy; more would only hold memory and delay
# whatever else is queued (the live indexer's writes).
LOAD_BATCH = 10_000
LOAD_IN_FLIGHT = 3
# Stop enqueueing while the server's queue (everyone's tasks) is longer than this.
MAX_QUEUED = 20
QUEUE_POLL_SECONDS = 0.2


class LayoutError(RuntimeError):
    pass


async def ensure_index(meili: Meili, spec: IndexSpec) -> None:
    """Creates the index if missing and applies its settings; returns once
    Meilisearch has applied them (on a fresh server or an existing one)."""
    try:
        await meili.wait(await meili.run(meili.client.create_index, spec.uid,
                                         {"primaryKey": spec.primary_key}))
    except TaskFailed as exc:
        if exc.code != "index_already_exists":
            raise
    index = await meili.run(meili.client.get_index, spec.uid)
    if index.primary_key != spec.primary_key:
        raise LayoutError(f"Meilisearch index {spec.uid} has primary key {index.primary_key!r},"
                          f" not {spec.primary_key!r}: run python -m services.search.reindex")
    await meili.wait(await meili.run(meili.index(spec.uid).update_settings, spec.settings),
                     within=SETTINGS_TIMEOUT_SECONDS)


async def drop_index(meili: Meili, uid: str) -> None:
    try:
        await meili.wait(await meili.run(meili.index(uid).delete))
    except TaskFailed as exc:
        if exc.code != "index_not_found":
            raise


class Loader:
    """Enqueues batches without waiting for each one, but never has more than
    LOAD_IN_FLIGHT unfinished, nor adds to a server queue longer than MAX_QUEUED."""

    def __init__(self, meili: Meili, uid: str) -> None:
        self._meili = meili
        self._uid = uid
        self._pending: list[dict[str, Any]] = []
        self._in_flight: collections.deque[int] = collections.deque()

    async def add(self, docs: Sequence[dict[str, Any]]) -> None:
        self._pending.extend(docs)
        while len(self._pending) >= LOAD_BATCH:
            batch, self._pending = self._pending[:LOAD_BATCH], self._pending[LOAD_BATCH:]
            await self._send(batch)

    async def drain(self) -> None:
        """Returns once every document added is indexed."""
        if self._pending:
            batch, self._pending = self._pending, []
            await self._send(batch)
        while self._in_flight:
            await self._meili.wait(self._in_flight.popleft())

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        while len(self._in_flight) >= LOAD_IN_FLIGHT or await self._meili.queued() > MAX_QUEUED:
            if self._in_flight:
                await self._meili.wait(self._in_flight.popleft())
            else:  # the queue is someone else's: let it shrink
                await asyncio.sleep(QUEUE_POLL_SECONDS)
        info = await self._meili.run(self._meili.index(self._uid).update_documents, batch)
        self._in_flight.append(info.task_uid)


class MeiliRebuild:
    """Fills `<index>-build` beside each live index, then swaps both pairs in one
    task (searches see the old indexes until the swap, the new ones after)."""

    def __init__(self, meili: Meili, live: Sequence[IndexSpec]) -> None:
        self._meili = meili
        self._live = list(live)
        self._tweets = Loader(meili, self._live[0].build().uid)
        self._users = Loader(meili, self._live[1].build().uid)

    async def start(self) -> None:
        for spec in self._live:
            await drop_index(self._meili, spec.build().uid)
            await ensure_index(self._meili, spec.build())

    async def add_tweets(self, docs: Sequence[TweetDoc]) -> None:
        await self._tweets.add([tweet_document(d, d.likes, d.retweets) for d in docs])

    async def add_users(self, docs: Sequence[UserDoc]) -> None:
        await self._users.add([user_document(d) | {"follower_count": d.follower_count}
                               for d in docs])

    async def swap(self) -> None:
        await self._copy_tombstones()
        await self._tweets.drain()
        await self._users.drain()
        pairs = [{"indexes": [spec.uid, spec.build().uid]} for spec in self._live]
        await self._meili.wait(await self._meili.run(self._meili.client.swap_indexes, pairs))
        await self.discard()  # the build names now hold the old indexes

    async def _copy_tombstones(self) -> None:
        """Deletes are final: the live index's tombstones go to the new one too
        (merged into a tweet the sources still returned, if it was deleted since)."""
        live, offset = self._meili.index(self._live[0].uid), 0
        while True:
            page = await self._meili.run(live.get_documents, {
                "filter": "deleted = true", "fields": ["tweet_id"], "limit": LOAD_BATCH,
                "offset": offset})
            await self._tweets.add([tombstone(int(d.tweet_id)) for d in page.results])
            if len(page.results) < LOAD_BATCH:
                return
            offset += LOAD_BATCH

    async def discard(self) -> None:
        for spec in self._live:
            await drop_index(self._meili, spec.build().uid)

