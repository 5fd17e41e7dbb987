"""The tweet cache's in-process tier (services/tweets/client/tweet_cache.py,
HotTier: an OrderedDict with an expiry per entry) against cachetools.TTLCache
(same bound, same TTL, LRU too), on a page's 40 lookups, all hits, and 40 puts,
in a tier of 50,000 entries. No stack needed; cachetools is not a dependency:

    PYTHONPATH=<a --target dir with cachetools> .venv/bin/python -m benchmarks.hot_tier_cachetools
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

import cachetools  # type: ignore[import-untyped,unused-ignore]
from twitter.tweets.v1 import cache_pb2

from services.tweets.client.tweet_cache import HotTier

SIZE, TTL, PAGE = 50_000, 30.0, list(range(1000, 1040))


def cases() -> dict[str, Callable[[], Any]]:
    entry = cache_pb2.CachedTweet()
    hot = HotTier(SIZE, TTL)
    ttl = cachetools.TTLCache(maxsize=SIZE, ttl=TTL, timer=time.monotonic)
    now = time.monotonic()
    for i in range(SIZE):
        hot.put(i, entry, now)
        ttl[i] = entry

    def hot_get() -> Any:
        now = time.monotonic()  # one clock read per page, as TweetCache does
        return {t: e for t in PAGE if (e := hot.get(t, now)) is not None}

    def ttl_get() -> Any:
        return {t: e for t in PAGE if (e := ttl.get(t)) is not None}

    def hot_put() -> None:
        now = time.monotonic()
        for t in PAGE:
            hot.put(t, entry, now)

    def ttl_put() -> None:
        for t in PAGE:
            ttl[t] = entry

    return {"HotTier get": hot_get, "TTLCache get": ttl_get,
            "HotTier put": hot_put, "TTLCache put": ttl_put}


def main() -> None:
    for name, fn in cases().items():
        number, _ = timeit.Timer(fn).autorange()
        best = min(timeit.repeat(fn, number=number, repeat=5)) / number
        print(f"{name:13} {best * 1e6:7.1f} us per {len(PAGE)} ids"
              f" ({best * 1e6 / len(PAGE):.2f} us/id)")


if __name__ == "__main__":
    main()
