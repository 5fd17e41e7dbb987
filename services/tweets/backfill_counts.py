"""Marks like, retweet and reply rows written before derived counts (migration
0002) as counted: before it, such a row existed (and was not `removed`) exactly
while it was included in its tweet's count, so the counts stay as they are.

    python -m services.tweets.backfill_counts

Only rows written before the migration was applied are touched (a newer
uncounted row is a change whose recount is still due), so it may run while
the service takes writes, and running it again changes nothing. It scans the
table by token range.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.shared.config import ScyllaSettings
from services.shared.stores.cassandra import Cql
from services.tweets.repository import COUNTED

SPLITS = 256
_MIN, _MAX = -(2**63), 2**63 - 1


async def migrated_at(cql: Cql) -> int:
    """When migration 0002 was applied (microseconds)."""
    rows = await cql.execute(await cql.prepare(
        "SELECT applied_at FROM schema_migrations WHERE service = ? AND version = ?"),
        ("tweets", 2))
    if not rows:
        raise SystemExit("migration 0002 of tweets is not applied yet")
    applied: datetime = rows[0]["applied_at"].replace(tzinfo=UTC)
    return int(applied.timestamp() * 1_000_000)


async def backfill(cql: Cql) -> int:
    cutoff = await migrated_at(cql)
    scan = await cql.prepare(
        "SELECT tweet_id, kind, member, removed, counted, writetime(removed) AS written"
        " FROM tweets WHERE token(tweet_id) > ? AND token(tweet_id) <= ?")
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
                  and not r["removed"] and (r["written"] or 0) < cutoff]
        await cql.execute_many((mark, (r["tweet_id"], r["kind"], r["member"]))
                               for r in legacy)
        marked += len(legacy)
        if (n + 1) % 32 == 0:
            print(f"{n + 1}/{SPLITS} token ranges, {marked} rows marked", flush=True)
    return marked


async def main() -> None:
    cql = await Cql.connect(ScyllaSettings())
    try:
        await backfill(cql)
    finally:
        await cql.close()


if __name__ == "__main__":
    asyncio.run(main())
