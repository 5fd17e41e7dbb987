"""The backfill for rows written before derived counts: a legacy like (a row
that existed exactly while counted) is marked counted, so the next recount
keeps the count; a new row still waiting for its recount is left alone."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from services.shared.stores.cassandra import Cql
from services.tweets.backfill_counts import backfill, migrated_at
from services.tweets.repository import RowKind
from services.tweets.wiring import Components
from tests.support.tweets import FlakyPublisher, get, post
from tests.support.users import MakeAccount

if TYPE_CHECKING:
    from tests.support.tweets import Stub


async def test_legacy_likes_are_marked_counted_and_pending_ones_are_not(
        tweets: Stub, make_account: MakeAccount, cql: Cql,
        replica: tuple[Components, FlakyPublisher]) -> None:
    parts, _ = replica
    author = await make_account("a")
    tweet = (await post(tweets, author, "liked before the upgrade")).tweet_id
    legacy_user, pending_user, new_user = 10**15 + 1, 10**15 + 2, 10**15 + 3
    before = await migrated_at(cql) - 1_000_000
    row = await cql.prepare("INSERT INTO tweets (tweet_id, kind, member, ref_id, removed)"
                            " VALUES (?, 1, ?, ?, false) USING TIMESTAMP ?")
    # As the old service left it: the row, and a count that includes it.
    await cql.execute(row, (tweet, legacy_user, 1, before))
    await cql.execute(await cql.prepare("UPDATE tweets SET like_count = 1 WHERE tweet_id = ?"),
                      (tweet,))
    # A like written now whose recount has not run yet.
    await cql.execute(row, (tweet, pending_user, 2, int(time.time() * 1_000_000)))

    assert await backfill(cql) >= 1
    await parts.engagement.like(new_user, tweet)  # recounts the new and the pending row
    # The legacy row was counted all along: a recount looking at it adds nothing.
    await parts.counter.recount(tweet, RowKind.LIKE, [pending_user, legacy_user])
    assert (await get(tweets, author, tweet)).like_count == 3
    again = await backfill(cql)
    assert (await get(tweets, author, tweet)).like_count == 3
    assert again == 0
