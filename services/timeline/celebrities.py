"""Each timeline server's copy of the celebrity set (`tl:celebrities`), so that
a home page asks Redis only about its own keys: which followed authors to
merge in at read time is answered in process, not by a round trip to the
global set's node.

A background task polls the set's version token (store.py) every
`refresh_seconds` and reads the whole set only when the token moved (and
every FULL_RELOAD_SECONDS, in case something changed the set without the
token, such as an older fanout worker during a rolling deploy). The copy is
used while it was last confirmed less than `max_age_seconds` ago; otherwise
(not loaded yet, Redis unreachable for the poller, a stalled loop) the reader
asks Redis as before.

What the staleness allows, and why no tweet is lost by it:
- A new celebrity: fanout marks the author before it leaves their tweets to
  read time (they go to the author's recent set, not to followers' homes). A
  reader whose copy does not know them yet leaves that set out, so their
  newest tweets show on home pages up to `refresh_seconds` late (at most
  `max_age_seconds`); the recent set keeps them, and the next page read
  after the refresh merges them in.
- A demoted celebrity: fanout unmarks the author before it fans their tweets
  out to followers' homes again. A reader whose copy still has them merges
  their recent set as well as the home entries: the same tweet from both
  sources, which merge() keeps once.
Rebuilding a home (rare) asks Redis, so what it leaves out to read time is
exactly what the set holds then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from services.shared.observability.logging import get_logger
from services.timeline.store import TimelineStore

log = get_logger(__name__)

FULL_RELOAD_SECONDS = 60.0


class CelebrityCopy:
    def __init__(self, store: TimelineStore, *, refresh_seconds: float, max_age_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._members: frozenset[int] | None = None  # None: not loaded
        self._version: str | None = None
        self._loaded_at = 0.0  # when the read that loaded the members began
        self._confirmed_at = 0.0  # when the last read that found them current began

    def among(self, user_ids: Sequence[int]) -> list[int] | None:
        """The celebrities among the users, in their order; None when the copy
        is not loaded or too old to answer (ask the store then)."""
        members = self._members
        if members is None or self._clock() - self._confirmed_at > self._max_age:
            return None
        return [u for u in user_ids if u in members]

    async def refresh(self) -> None:
        """Brings the copy up to date: one small read when the set has not
        changed, the whole set when it has. Raises what Redis raises."""
        began = self._clock()
        reload = self._members is None or began - self._loaded_at > FULL_RELOAD_SECONDS
        if not reload:
            reload = await self._store.celebrities_version() != self._version
        if reload:
            self._version, self._members = await self._store.celebrities()
            self._loaded_at = began
        self._confirmed_at = began

    async def run(self) -> None:
        """Refreshes the copy every `refresh_seconds` until cancelled."""
        failing = False
        while True:
            try:
                await self.refresh()
                failing = False
            except Exception:  # Redis unreachable or refusing: keep polling
                if not failing:  # once per outage: the copy ages out meanwhile
                    log.warning("could not refresh the celebrity set; reads ask Redis",
                                exc_info=True)
                failing = True
            await asyncio.sleep(self._refresh)

    async def celebrities_among(self, user_ids: Sequence[int]) -> list[int]:
        """The celebrities among the users, from the copy when it may answer,
        else from Redis."""
        known = self.among(user_ids)
        if known is not None:
            return known
        return await self._store.celebrities_among(user_ids)
