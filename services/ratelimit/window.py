"""Sliding-window counters in Redis, updated atomically by one Lua script.

The algorithm is the sliding window *counter* (two fixed windows, weighted):
a bucket keeps the count of the current fixed window and of the previous one,
and a request at fraction f into the current window sees

    used = previous * (1 - f) + current

It is allowed when used + hits <= limit. Unlike a plain fixed window, a burst
at the end of one window still counts right after the boundary (no 2x burst);
unlike a sliding log, a bucket is three integers whatever the limit.

One script call checks every bucket of a request and counts the hits only when
all of them allow it: a request refused by one limit does not use up the
others (a 429 on CreateTweet leaves the per-IP budget alone). Time is Redis's
own clock (TIME), so several ratelimit replicas agree on window boundaries.

Each bucket key carries its own hash tag (services/ratelimit/rules.py), so on
a Redis Cluster the buckets of one request usually live in different slots and
one script cannot see them all. There the script runs once per slot, all in
parallel (one round trip, as on one Redis), each counting when its own buckets
allow the request. When another slot refused it, the slots that counted take
their hits back (UNDO, a second round, only for refused requests), so a
refused request still uses up no other budget; in between, a concurrent
request may see those hits for a moment and be refused one early. A request
whose buckets share a slot, or any request on a single Redis, is one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.shared.resilience.breaker import CircuitBreaker, guarded
from services.shared.resilience.health import Required
from services.shared.stores.redis_client import slot_groups

# KEYS: one hash per bucket. ARGV[1]: hits; then per bucket: window (ms), limit.
# Returns {1 if allowed else 0, then per bucket: over (0/1), remaining, reset_ms,
# then Redis's time in ms}.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hits = tonumber(ARGV[1])
local all_ok = true
local out = {0}
local updates = {}
for i = 1, #KEYS do
  local w = tonumber(ARGV[2 * i])
  local limit = tonumber(ARGV[2 * i + 1])
  local idx = math.floor(now / w)
  local e = now - idx * w
  local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local sw, c, p = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3]) or 0
  if sw == idx - 1 then
    p, c = c, 0
  elseif sw ~= idx then
    p, c = 0, 0
  end
  local used = p * (w - e) / w + c
  local remaining, reset, over = 0, 0, 0
  if used + hits <= limit then
    remaining = math.floor(limit - used - hits)
    reset = w - e
  else
    all_ok = false
    over = 1
    if hits > limit then
      reset = w - e
    elseif c + hits <= limit and p > 0 then
      -- a slot frees up in this window as the previous one's weight decays
      reset = math.max(1, math.ceil(w - (limit - c - hits) * w / p - e))
    else
      -- only once this window has become the previous one and decayed enough
      local later = 0
      if c > 0 then later = math.max(0, w - (limit - hits) * w / c) end
      reset = math.ceil(w - e + later)
    end
  end
  out[#out + 1] = over
  out[#out + 1] = remaining
  out[#out + 1] = reset
  updates[i] = {w, idx, c + hits, p}
end
if all_ok then
  out[1] = 1
  for i = 1, #KEYS do
    local u = updates[i]
    redis.call('HSET', KEYS[i], 'w', u[2], 'c', u[3], 'p', u[4])
    redis.call('PEXPIRE', KEYS[i], 2 * u[1])
  end
end
out[#out + 1] = now
return out
"""

# Takes back hits counted at `now` (ms): KEYS: buckets; ARGV[1]: hits, ARGV[2]:
# now; then per bucket: window (ms). The hits are in the window of `now`, or,
# if that window has rolled over since, in the previous one.
UNDO = """
local hits, now = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 1, #KEYS do
  local idx = math.floor(now / tonumber(ARGV[i + 2]))
  local h = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local sw = tonumber(h[1])
  if sw == idx then
    redis.call('HSET', KEYS[i], 'c', math.max(0, (tonumber(h[2]) or 0) - hits))
  elseif sw == idx + 1 then
    redis.call('HSET', KEYS[i], 'p', math.max(0, (tonumber(h[3]) or 0) - hits))
  end
end
return 1
"""


@dataclass(frozen=True)
class Bucket:
    key: str
    window_seconds: int
    limit: int


@dataclass(frozen=True)
class Outcome:
    over: bool  # this bucket refused the request
    remaining: int
    reset_seconds: int  # until one more request is allowed (refused) or the window rolls


@dataclass(frozen=True)
class Decision:
    allowed: bool
    outcomes: list[Outcome]


class SlidingWindow:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._script = redis.register_script(SCRIPT)
        self._undo = redis.register_script(UNDO)
        # A process whose Redis is down reports NOT_SERVING, so the edge asks
        # another one (which still counts) rather than failing open here.
        self.breaker = CircuitBreaker("ratelimit:redis")

    def required(self) -> Required:
        return Required("the rate limit store", self.breaker, self._ping)

    async def _ping(self) -> None:
        async with guarded(self.breaker, "the rate limit store"):
            await self._redis.ping()

    async def hit(self, buckets: Sequence[Bucket], hits: int = 1) -> Decision:
        if not buckets:
            return Decision(True, [])
        groups = [[buckets[i] for i in g]
                  for g in slot_groups(self._redis, [b.key for b in buckets])]
        if len(groups) == 1:
            return (await self._call(buckets, hits))[0]
        answers = await asyncio.gather(*(self._call(g, hits) for g in groups))
        allowed = all(d.allowed for d, _ in answers)
        if not allowed:  # the slots that counted take their hits back
            async with guarded(self.breaker, "the rate limit store"):
                await asyncio.gather(*(
                    self._undo(keys=[b.key for b in g],
                               args=[hits, now, *(b.window_seconds * 1000 for b in g)])
                    for g, (d, now) in zip(groups, answers, strict=True) if d.allowed))
        by_key = {b.key: o for g, (d, _) in zip(groups, answers, strict=True)
                  for b, o in zip(g, d.outcomes, strict=True)}
        return Decision(allowed, [by_key[b.key] for b in buckets])

    async def _call(self, buckets: Sequence[Bucket], hits: int) -> tuple[Decision, int]:
        """The decision for these buckets (counted when they all allow it), and
        Redis's time of it in milliseconds."""
        args: list[int] = [hits]
        for b in buckets:
            args += [b.window_seconds * 1000, b.limit]
        async with guarded(self.breaker, "the rate limit store"):
            raw = await self._script(keys=[b.key for b in buckets], args=args)
        values = [int(v) for v in raw]
        outcomes = [Outcome(values[i] == 1, values[i + 1], max(1, -(-values[i + 2] // 1000)))
                    for i in range(1, len(values) - 1, 3)]
        return Decision(values[0] == 1, outcomes), values[-1]
