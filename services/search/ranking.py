"""Hotness: the engagement-and-recency part of the tweet ranking, the same on both backends.

PostgreSQL scores a match as text_rank * (1 + ln(1 + engagement)) * exp(-age / RECENCY_SECONDS).
For one text rank that orders tweets exactly like

    created / RECENCY_SECONDS + ln(1 + ln(1 + engagement))

which does not depend on when the query runs. So Meilisearch can store it with
the document and sort on it, and it changes only when the engagement does.
"""

from __future__ import annotations

import math

from services.shared.snowflake.ids import EPOCH_MS

# The recency factor falls by e every two days.
RECENCY_SECONDS = 172_800.0
# Stored as an integer (exact in a 64-bit float, so exact in a Meilisearch filter);
# one unit is 0.17 ms of recency.
HOT_SCALE = 1e9


def engagement(likes: int, retweets: int) -> int:
    return likes + 2 * retweets


def hotness(created_ms: int, likes: int, retweets: int) -> int:
    recency = (created_ms - EPOCH_MS) / 1000 / RECENCY_SECONDS
    return round(HOT_SCALE * (recency + math.log1p(math.log1p(engagement(likes, retweets)))))
