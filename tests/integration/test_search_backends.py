"""One contract suite for every search backend: PostgreSQL full-text always;
Meilisearch too when MEILISEARCH_URL points at a real server (the stack starts
one when MEILISEARCH_BIN names a binary; see the README).

Where the backends differ by design (typos, prefixes, stemming), each states
its own `semantics` and the tests hold it to them. The Meilisearch tests use
indexes of their own (a random prefix), created fresh by the first test and
found existing by the others, and deleted at the end.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import meilisearch
import pytest

from services.search.backend import Engagement, SearchBackend, TweetDoc, TweetFilter, UserDoc
from services.search.meili.backend import MeilisearchBackend
from services.search.meili.schema import TWEET_SETTINGS
from services.search.postgres.backend import PostgresBackend
from services.shared.stores.postgres import GuardedPool

BACKENDS = ["postgres", "meilisearch"]


def meili_env() -> tuple[str, str | None]:
    url = os.environ.get("MEILISEARCH_URL")
    if not url:
        pytest.skip("MEILISEARCH_URL is not set")
    return url, os.environ.get("MEILISEARCH_API_KEY")


@pytest.fixture(scope="session")
def meili_prefix() -> Iterator[str]:
    prefix = f"test{secrets.token_hex(4)}-"
    yield prefix
    if url := os.environ.get("MEILISEARCH_URL"):
        client = meilisearch.Client(url, os.environ.get("MEILISEARCH_API_KEY"))
        for index in client.get_indexes({"limit": 1000})["results"]:
            if index.uid.startswith(prefix):
                client.wait_for_task(client.delete_index(index.uid).task_uid)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, stack_env: dict[str, str],
                  meili_prefix: str) -> AsyncIterator[SearchBackend]:
    if request.param == "meilisearch":
        meili = MeilisearchBackend(*meili_env(), prefix=meili_prefix)
        await meili.setup()
        yield meili
        await meili.close()
        return
    pool = GuardedPool(stack_env["PG_DSN"], name="search-test", min_size=1, max_size=4)
    await pool.open(wait=True)
    yield PostgresBackend(pool)
    await pool.close()


def ids(n: int) -> list[int]:
    """Fresh ids no other test uses, far above 2**53 like real ones."""
    base = 7_000_000_000_000_000_000 + secrets.randbelow(10**15) * 1000
    return [base + i for i in range(n)]


def word(length: int = 10) -> str:
    """A word that occurs nowhere else (letters only: PostgreSQL does not stem
    words with digits)."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def stem() -> str:
    """A word that English stemming leaves as it is, and that takes -ing:
    consonant-vowel pairs ending in -ok (no suffix a stemmer would strip)."""
    pairs = "".join(secrets.choice("bdfgmnpv") + secrets.choice("aiu") for _ in range(3))
    return pairs + "ok"


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
    assert set(await all_pages(backend, TweetFilter(text=f"{w1} {w2}"))) == {a, b}  # every word
    assert await all_pages(backend, TweetFilter(text=f'{w1} "quick brown fox"')) == [a]
    assert set(await all_pages(backend, TweetFilter(hashtags=[tag]))) == {a, d}
    assert set(await all_pages(backend, TweetFilter(mention_ids=[99]))) & {a, b, c, d} == {b, d}
    assert set(await all_pages(backend, TweetFilter(text=w1, author_ids=[11]))) == {a, c}
    assert set(await all_pages(backend, TweetFilter(hashtags=[tag], mention_ids=[99]))) == {d}


async def test_ids_above_two_to_the_53_are_exact(backend: SearchBackend) -> None:
    """Neighbouring snowflakes round to one 64-bit float: filters must not confuse them."""
    base = (1 << 62) + secrets.randbelow(1 << 40) * 4
    assert float(base) == float(base + 1)
    w = word()
    await backend.upsert_tweets([doc(base, f"{w} one", author=base, mentions=[base]),
                                 doc(base + 1, f"{w} two", author=base + 1, mentions=[base + 1])])
    assert await all_pages(backend, TweetFilter(text=w, author_ids=[base + 1])) == [base + 1]
    assert await all_pages(backend, TweetFilter(mention_ids=[base])) == [base]
    await backend.delete_tweets([base])
    assert await all_pages(backend, TweetFilter(text=w)) == [base + 1]


async def test_delete_is_final_and_edits_replace_words(backend: SearchBackend) -> None:
    a, b, c = ids(3)
    old, new = word(), word()
    await backend.upsert_tweets([doc(a, f"first {old}"), doc(b, f"other {old}")])
    await backend.upsert_tweets([doc(a, f"second {new}", revision=1)])
    await backend.upsert_tweets([doc(a, f"stale {old}", revision=0)])  # a late older edit
    assert await all_pages(backend, TweetFilter(text=new)) == [a]
    assert await all_pages(backend, TweetFilter(text=old)) == [b]
    await backend.delete_tweets([b, c])  # c: deleted before its create arrives
    await backend.upsert_tweets([doc(b, f"resurrected {old}"), doc(c, f"late {old}")])
    await backend.upsert_tweets([doc(b, f"edited {old}", revision=5)])
    await backend.set_engagement({b: Engagement(like_count=3)})
    assert await all_pages(backend, TweetFilter(text=old)) == []


async def test_ranking_blends_engagement_and_recency(backend: SearchBackend) -> None:
    plain, popular, liked, old = ids(4)
    w = word()
    await backend.upsert_tweets([doc(plain, f"{w} x"), doc(popular, f"{w} y"),
                                 doc(liked, f"{w} v"), doc(old, f"{w} z", age_hours=24 * 30)])
    # Counts arrive separately: a retweet count must not lose the like count.
    await backend.set_engagement({popular: Engagement(like_count=500)})
    await backend.set_engagement({popular: Engagement(retweet_count=50),
                                  liked: Engagement(like_count=520)})
    assert await all_pages(backend, TweetFilter(text=w), limit=10) == [popular, liked, plain, old]
    await backend.upsert_tweets([doc(popular, f"{w} y edited", revision=1)])  # keeps its counts
    assert (await all_pages(backend, TweetFilter(text=w), limit=10))[0] == popular


async def test_pagination_neither_skips_nor_repeats_while_tweets_are_added(
        backend: SearchBackend) -> None:
    tweet_ids = ids(9)
    w = word()
    await backend.upsert_tweets([doc(i, f"{w} number {n}", age_hours=n / 10)
                                 for n, i in enumerate(tweet_ids[:7])])
    first, cursor = await backend.search_tweets(TweetFilter(text=w), None, 3)
    assert cursor is not None
    # One newer and one older tweet arrive between pages.
    await backend.upsert_tweets([doc(tweet_ids[7], f"{w} newest"),
                                 doc(tweet_ids[8], f"{w} oldest", age_hours=5)])
    found = list(first)
    while cursor is not None:
        page, cursor = await backend.search_tweets(TweetFilter(text=w), cursor, 3)
        found.extend(page)
    assert len(found) == len(set(found))
    assert set(tweet_ids[:7]) <= set(found)
    assert found[:7] == tweet_ids[:7]  # newest first: none skipped, none moved


async def test_word_forms_typos_and_prefixes_as_each_backend_states(
        backend: SearchBackend) -> None:
    base = stem()
    (forms,) = ids(1)
    await backend.upsert_tweets([doc(forms, f"{base}ing all day")])

    async def finds(text: str) -> bool:
        return forms in await all_pages(backend, TweetFilter(text=text), limit=20)

    semantics = backend.semantics
    assert await finds(f"{base}ing")
    assert await finds(base)  # stemming (PostgreSQL) or the last word as a prefix (Meilisearch)
    typo = base[:2] + ("o" if base[2] != "o" else "e") + base[3:] + "ing"
    assert await finds(typo) == semantics.typos
    assert await finds(base[:6]) == semantics.prefix
    assert await finds(f'"{base}"') == semantics.stemming  # phrases: no prefix, no typo
    assert not await finds(f"{base}ing {word()}")  # every word must match


async def test_user_search_prefix_typo_and_bio(backend: SearchBackend) -> None:
    u1, u2, u3 = ids(3)
    stem_ = "q" + secrets.token_hex(3)
    await backend.upsert_users([
        UserDoc(u1, f"{stem_}alice", "Alice Wonder", "likes gardening"),
        UserDoc(u2, f"{stem_}bob", "Bob Builder", f"{stem_}xylophone player"),
        UserDoc(u3, "someone", f"{stem_} Carol", ""),
    ])
    await backend.set_follower_counts({u1: 10})
    prefix = {u.user_id for u in (await backend.search_users(stem_, None, 20))[0]}
    assert {u1, u2, u3} <= prefix
    typo = (await backend.search_users(f"{stem_}alcie", None, 5))[0]
    assert typo
    assert typo[0].user_id == u1
    assert typo[0].follower_count == 10
    bio = (await backend.search_users(f"{stem_}xylophone", None, 5))[0]
    assert [u.user_id for u in bio][:1] == [u2]


async def test_meilisearch_settings_are_applied_on_fresh_and_existing_indexes(
        meili_prefix: str) -> None:
    url, api_key = meili_env()
    prefix = meili_prefix + "fresh-"
    fresh = MeilisearchBackend(url, api_key, prefix=prefix)
    await fresh.setup()  # creates the indexes: settings in force once it returns
    client = meilisearch.Client(url, api_key)
    tweets_uid, users_uid = fresh.index_uids
    settings = client.index(tweets_uid).get_settings()
    assert settings["rankingRules"] == TWEET_SETTINGS["rankingRules"]
    assert settings["sortableAttributes"] == ["hot", "tweet_id"]
    assert client.get_index(tweets_uid).primary_key == "tweet_id"
    assert client.index(users_uid).get_settings()["rankingRules"][-1] == "follower_count:desc"
    await fresh.close()
    existing = MeilisearchBackend(url, api_key, prefix=prefix)
    await existing.setup()  # the same on indexes that exist
    (tweet_id,) = ids(1)
    w = word()
    await existing.upsert_tweets([doc(tweet_id, w)])
    assert await all_pages(existing, TweetFilter(text=w)) == [tweet_id]
    await existing.drop()
    await existing.close()


async def test_meilisearch_rebuild_swaps_in_at_once_and_keeps_deletes(
        meili_prefix: str) -> None:
    prefix = meili_prefix + "rebuild-"
    backend = MeilisearchBackend(*meili_env(), prefix=prefix)
    live, rebuilt, deleted = ids(3)
    w = word()
    await backend.upsert_tweets([doc(live, f"{w} live"), doc(deleted, f"{w} deleted")])
    await backend.delete_tweets([deleted])
    rebuild = await backend.rebuild()
    await rebuild.add_tweets([doc(rebuilt, f"{w} rebuilt"), doc(deleted, f"{w} deleted")])
    await rebuild.add_users([UserDoc(live, f"u{w}", follower_count=7)])
    assert await all_pages(backend, TweetFilter(text=w)) == [live]  # the old one until the swap
    await rebuild.swap()
    assert await all_pages(backend, TweetFilter(text=w)) == [rebuilt]
    users, _ = await backend.search_users(f"u{w}", None, 5)
    assert [(u.user_id, u.follower_count) for u in users] == [(live, 7)]
    await backend.drop()
    await backend.close()
