"""Hotness (services/search/ranking.py): the engagement-and-recency part of the
tweet ranking both backends share, and the trends window (trends.py)."""

from __future__ import annotations

import math

import pytest

from services.search.ranking import HOT_SCALE, RECENCY_SECONDS, engagement, hotness
from services.shared.snowflake.ids import EPOCH_MS
from tests.fakes.search import FakeTrends

DAY_MS = 86_400_000
T = EPOCH_MS + 800 * DAY_MS


def test_a_retweet_weighs_two_likes() -> None:
    assert engagement(0, 0) == 0
    assert engagement(3, 0) == 3
    assert engagement(0, 3) == 6
    assert engagement(1, 1) == engagement(3, 0)


def test_newer_and_more_engaged_tweets_are_hotter() -> None:
    assert hotness(T + 1000, 0, 0) > hotness(T, 0, 0)
    assert hotness(T, 5, 0) > hotness(T, 4, 0)
    assert hotness(T, 0, 1) > hotness(T, 1, 0)


def test_hotness_orders_like_the_postgres_score_at_any_query_time() -> None:
    """text_rank * (1 + ln(1 + e)) * exp(-age / R) for one text rank orders as hotness."""
    tweets = [(T, 0, 0), (T - DAY_MS, 50, 3), (T - 3 * DAY_MS, 5000, 100),
              (T - 10 * DAY_MS, 10, 0), (T + 3600_000, 1, 0)]

    def pg_score(created_ms: int, likes: int, retweets: int, now_ms: int) -> float:
        age = (now_ms - created_ms) / 1000
        return (1 + math.log1p(engagement(likes, retweets))) * math.exp(-age / RECENCY_SECONDS)

    by_hotness = sorted(tweets, key=lambda t: hotness(*t))
    for now in (T + 3600_000, T + 30 * DAY_MS):
        scores = {t: pg_score(t[0], t[1], t[2], now) for t in tweets}
        assert sorted(tweets, key=scores.__getitem__) == by_hotness


def test_hotness_is_an_integer_exact_in_a_double() -> None:
    value = hotness(EPOCH_MS + 20 * 365 * DAY_MS, 10**9, 10**9)
    assert isinstance(value, int)
    assert value < 2**53
    assert hotness(EPOCH_MS, 0, 0) == 0
    assert hotness(EPOCH_MS + int(RECENCY_SECONDS * 1000), 0, 0) == HOT_SCALE


@pytest.mark.parametrize(("minutes", "now", "window"), [
    (60, 3600 * 10 + 59, (541, 600)),
    (60, 3600 * 10, (541, 600)),
    (1, 120.5, (2, 2)),
])
def test_the_trends_window_ends_at_the_current_minute(minutes: int, now: float,
                                                      window: tuple[int, int]) -> None:
    assert FakeTrends(window_minutes=minutes).window(now) == window
