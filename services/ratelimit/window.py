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
one script cannot see them all. There a request takes two parallel rounds: a
check of every slot's buckets that counts nothing, then, if all allow it, the
counting call per slot (which checks again). Only a race at the very limit
between the two rounds can count a request in one slot that another then
refuses. A request whose buckets share a slot, or any request on a single
Redis, is one call as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.shared.redis_client import slot_groups

# KEYS: one hash per bucket. ARGV[1]: hits; ARGV[2]: 1 to count when allowed,
# 0 to check only; then per bucket: window (ms), limit.
# Returns {1 if allowed else 0, then per bucket: over (0/1), remaining, reset_ms}.
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hits = tonumber(ARGV[1])
local all_ok = true
local out = {0}
local updates = {}
for i = 1, #KEYS do
  local w = tonumber(ARGV[2 * i + 1])
  local limit = tonumber(ARGV[2 * i + 2])
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
end
if all_ok and ARGV[2] == '1' then
  for i = 1, #KEYS do
    local u = updates[i]
    redis.call('HSET', KEYS[i], 'w', u[2], 'c', u[3], 'p', u[4])
    redis.call('PEXPIRE', KEYS[i], 2 * u[1])
  end
end
return out
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

    async def hit(self, buckets: Sequence[Bucket], hits: int = 1) -> Decision:
        if not buckets:
            return Decision(True, [])
        groups = [[buckets[i] for i in g]
                  for g in slot_groups(self._redis, [b.key for b in buckets])]
        if len(groups) == 1:
            return await self._call(buckets, hits, count=True)
        checks = await asyncio.gather(*(self._call(g, hits, count=False) for g in groups))
        if all(d.allowed for d in checks):
            checks = await asyncio.gather(*(self._call(g, hits, count=True) for g in groups))
        by_key = {b.key: o for g, d in zip(groups, checks, strict=True)
                  for b, o in zip(g, d.outcomes, strict=True)}
        return Decision(all(d.allowed for d in checks), [by_key[b.key] for b in buckets])

    async def _call(self, buckets: Sequence[Bucket], hits: int, *, count: bool) -> Decision:
        args: list[int] = [hits, int(count)]
        for b in buckets:
            args += [b.window_seconds * 1000, b.limit]
        raw = await self._script(keys=[b.key for b in buckets], args=args)
        values = [int(v) for v in raw]
        outcomes = [Outcome(values[i] == 1, values[i + 1], max(1, -(-values[i + 2] // 1000)))
                    for i in range(1, len(values), 3)]
        return Decision(values[0] == 1, outcomes)
