"""Trends on a shared stack: the worldwide list is whatever the last hour
posted (a benchmark's hashtags with hundreds of users each crowd out a test's
with two or three), so a test counts exactly in a place of its own and checks
the worldwide list only for a ranking consistent with it."""

from __future__ import annotations

import random
from typing import Any

import pycountry


def private_places(count: int) -> list[str]:
    """Distinct country codes chosen at random: within the trends window (an
    hour) no other test and no benchmark is likely to post there (none posts in
    a fixed place), so those places' trends are this test's own."""
    return random.sample(sorted(c.alpha_2 for c in pycountry.countries), count)


def counts(trends: list[dict[str, Any]]) -> dict[str, int]:
    return {t["hashtag"]: int(t["tweetCount"]) for t in trends}


def ranked_fairly(trends: list[dict[str, Any]], hashtag: str, users: int, limit: int) -> bool:
    """Whether a top-`limit` list is right about `hashtag`, which `users`
    distinct users used: listed with that count, or left out only because
    `limit` other hashtags had at least as many users."""
    listed = counts(trends)
    if hashtag in listed:
        return listed[hashtag] == users
    return len(trends) == limit and min(listed.values()) >= users
