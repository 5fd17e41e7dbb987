"""Marks like, retweet and reply rows written before derived counts (migration
0002) as counted: before it, such a row existed (and was not `removed`) exactly
while it was included in its tweet's count, so the counts stay as they are.

    python -m services.tweets.backfill_counts

Run it once, after the migration and before the new tweets service takes
writes; running it again changes nothing. It scans the table by token range.
"""

from __future__ import annotations

import asyncio

from services.shared.cassandra import Cql
from services.shared.config import ScyllaSettings
from services.tweets.repository import COUNTED

SPLITS = 256
_MIN, _MAX = -(2**63), 2**63 - 1


async def backfill(cql: Cql) -> int:
    scan = await cql.prepare(
        "SELECT tweet_id, kind, member, removed, counted FROM tweets"
        " WHERE token(tweet_id) > ? AND token(tweet_id) <= ?")
    mark = await cql.prepare("UPDATE tweets SET counted = true"
                             " WHERE tweet_id = ? AND kind = ? AND member = ?")
    kinds = {int(k) for k in COUNTED}
    step = (_MAX - _MIN) // SPLITS
    marked = 0
    for n in range(SPLITS):
        low = _MIN + n * step
        high = _MAX if n == SPLITS - 1 else low + step
        rows = await cql.execute(scan, (low, high))
        legacy = [r for r in rows if r["kind"] in kinds and r["counted"] is None
                  and not r["removed"]]
        await cql.execute_many((mark, (r["tweet_id"], r["kind"], r["member"]))
                               for r in legacy)
        marked += len(legacy)
        print(f"\r{n + 1}/{SPLITS} token ranges, {marked} rows marked", end="", flush=True)
    print()
    return marked


async def main() -> None:
    cql = await Cql.connect(ScyllaSettings())
    try:
        await backfill(cql)
    finally:
        await cql.close()


if __name__ == "__main__":
    asyncio.run(main())
