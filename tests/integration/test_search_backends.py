"""One contract suite for every search backend: PostgreSQL full-text always;
Meilisearch too when MEILISEARCH_URL points at a real server (it cannot be
installed on our machines: see the README)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from services.search.backend import Engagement, SearchBackend, TweetDoc, TweetFilter, UserDoc
from services.search.meili_backend import MeilisearchBackend
from services.search.pg_backend import PostgresBackend

BACKENDS = ["postgres", "meilisearch"]


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest,
                  stack_env: dict[str, str]) -> AsyncIterator[SearchBackend]:
    if request.param == "meilisearch":
        url = os.environ.get("MEILISEARCH_URL")
        if not url:
            pytest.skip("MEILISEARCH_URL is not set")
        meili = MeilisearchBackend(url, os.environ.get("MEILISEARCH_API_KEY"))
        await meili.setup()
        yield meili
        return
    pool = AsyncConnectionPool(stack_env["PG_DSN"], min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    yield PostgresBackend(pool)
    await pool.close()


def ids(n: int) -> list[int]:
    """Fresh ids no other test uses (tests share one index)."""
    base = 7_000_000_000_000_000_000 + secrets.randbelow(10**15) * 1000
    return [base + i for i in range(n)]


def word() -> str:
    return "w" + secrets.token_hex(5)  # a word that occurs nowhere else


def doc(tweet_id: int, content: str, *, author: int = 1, hashtags: list[str] | None = None,
        mentions: list[int] | None = None, age_hours: float = 0, revision: int = 0) -> TweetDoc:
    return TweetDoc(tweet_id, author, content, hashtags or [], mentions or [],
                    datetime.now(UTC) - timedelta(hours=age_hours), revision)


async def all_pages(backend: SearchBackend, flt: TweetFilter, limit: int = 2) -> list[int]:
    found, cursor = [], None
    for _ in range(50):
        page, cursor = await backend.search_tweets(flt, cursor, limit)
        found.extend(page)
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


async def test_words_phrases_hashtags_mentions_and_authors(backend: SearchBackend) -> None:
    a, b, c, d = ids(4)
    w1, w2, tag = word(), word(), word()
    await backend.upsert_tweets([
        doc(a, f"{w1} quick brown fox {w2}", author=11, hashtags=[tag]),
        doc(b, f"{w2} fox brown quick {w1}", author=12, mentions=[99]),
        doc(c, f"unrelated {w1}", author=11),
        doc(d, "nothing to see", author=13, hashtags=[tag], mentions=[99]),
    ])
    assert set(await all_pages(backend, TweetFilter(text=w1))) == {a, b, c}
    assert await all_pages(backend, TweetFilter(text=f'{w1} "quick brown fox"')) == [a]
    assert set(await all_pages(backend, TweetFilter(hashtags=[tag]))) == {a, d}
    assert set(await all_pages(backend, TweetFilter(mention_ids=[99]))) & {a, b, c, d} == {b, d}
    assert set(await all_pages(backend, TweetFilter(text=w1, author_ids=[11]))) == {a, c}


async def test_delete_is_final_and_edits_replace_words(backend: SearchBackend) -> None:
    a, b = ids(2)
    old, new = word(), word()
    await backend.upsert_tweets([doc(a, f"first {old}"), doc(b, f"other {old}")])
    await backend.upsert_tweets([doc(a, f"second {new}", revision=1)])
    await backend.upsert_tweets([doc(a, f"stale {old}", revision=0)])  # a late older edit
    assert await all_pages(backend, TweetFilter(text=new)) == [a]
    assert await all_pages(backend, TweetFilter(text=old)) == [b]
    await backend.delete_tweets([b])
    await backend.upsert_tweets([doc(b, f"resurrected {old}")])  # redelivered create
    assert await all_pages(backend, TweetFilter(text=old)) == []


async def test_ranking_blends_engagement_and_recency(backend: SearchBackend) -> None:
    plain, popular, old = ids(3)
    w = word()
    await backend.upsert_tweets([doc(plain, f"{w} x"), doc(popular, f"{w} y"),
                                 doc(old, f"{w} z", age_hours=24 * 30)])
    await backend.set_engagement({popular: Engagement(like_count=500, retweet_count=50)})
    assert await all_pages(backend, TweetFilter(text=w), limit=10) == [popular, plain, old]


async def test_pagination_neither_skips_nor_repeats(backend: SearchBackend) -> None:
    tweet_ids = ids(7)
    w = word()
    await backend.upsert_tweets([doc(i, f"{w} number {n}") for n, i in enumerate(tweet_ids)])
    found = await all_pages(backend, TweetFilter(text=w), limit=3)
    assert sorted(found) == sorted(tweet_ids) and len(found) == len(set(found))


async def test_user_search_prefix_typo_and_bio(backend: SearchBackend) -> None:
    u1, u2, u3 = ids(3)
    stem = "q" + secrets.token_hex(3)
    await backend.upsert_users([
        UserDoc(u1, f"{stem}alice", "Alice Wonder", "likes gardening"),
        UserDoc(u2, f"{stem}bob", "Bob Builder", f"{stem}xylophone player"),
        UserDoc(u3, "someone", f"{stem} Carol", ""),
    ])
    await backend.set_follower_counts({u1: 10})
    prefix = {u.user_id for u in (await backend.search_users(stem, None, 20))[0]}
    assert {u1, u2, u3} <= prefix
    typo = (await backend.search_users(f"{stem}alcie", None, 5))[0]
    assert typo and typo[0].user_id == u1 and typo[0].follower_count == 10
    bio = (await backend.search_users(f"{stem}xylophone", None, 5))[0]
    assert [u.user_id for u in bio][:1] == [u2]
