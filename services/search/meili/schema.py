"""The Meilisearch indexes: names, settings and document shapes.

Ids are 64-bit snowflakes, far above 2**53, and Meilisearch reads numbers as
64-bit floats: as numbers, `tweet_id IN [...]` or `author_id = ...` could match
a neighbour. So every id is stored as a zero-padded 20-digit string: compared
exactly, and in string order, which is numeric order (the pages' tie-break).

LAYOUT is part of the index names: a change of shape gets new indexes, which
`python -m services.search.reindex` fills, instead of mixing two shapes in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.search.backend import TweetDoc, UserDoc
from services.search.ranking import hotness

LAYOUT = 2
BUILD_SUFFIX = "-build"


def key(id_: int) -> str:
    return f"{id_:020d}"


def _filterable(patterns: list[str], *, comparison: bool = False) -> dict[str, Any]:
    # No facet search: nothing asks for it, and it costs indexing time.
    return {"attributePatterns": patterns,
            "features": {"facetSearch": False,
                         "filter": {"equality": True, "comparison": comparison}}}


# Typo tolerance (Meilisearch's defaults, stated here): a word of 5 to 8 letters
# matches with one typo, of 9 or more with two; numbers and hashtags never fuzzily.
TYPOS = {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
         "disableOnNumbers": True, "disableOnAttributes": ["hashtags"]}

TWEET_SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["content", "hashtags"],
    "filterableAttributes": [
        _filterable(["hashtags", "mention_ids", "author_id", "deleted"]),
        _filterable(["tweet_id", "hot"], comparison=True),  # the keyset
    ],
    "sortableAttributes": ["hot", "tweet_id"],
    # Sort first: matches are ordered by hotness (then id), a total order that
    # does not depend on the query, so pages can be keyset pages (see the backend).
    # The text rules only decide which tweets match (every word must).
    "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"],
    "typoTolerance": TYPOS,
    "facetSearch": False,
    "prefixSearch": "indexingTime",
}
TWEET_SORT = ["hot:desc", "tweet_id:desc"]

USER_SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["username", "display_name", "bio"],
    "filterableAttributes": [],
    "sortableAttributes": ["follower_count"],
    "rankingRules": ["words", "typo", "proximity", "attribute", "exactness",
                     "follower_count:desc"],
    "typoTolerance": TYPOS | {"disableOnAttributes": []},
    "facetSearch": False,
    "prefixSearch": "indexingTime",
}


@dataclass(frozen=True)
class IndexSpec:
    uid: str
    primary_key: str
    settings: dict[str, Any]

    def build(self) -> IndexSpec:
        """The index a rebuild fills before it is swapped in."""
        return IndexSpec(self.uid + BUILD_SUFFIX, self.primary_key, self.settings)


def tweets_index(prefix: str = "") -> IndexSpec:
    return IndexSpec(f"{prefix}tweets-v{LAYOUT}", "tweet_id", TWEET_SETTINGS)


def users_index(prefix: str = "") -> IndexSpec:
    return IndexSpec(f"{prefix}users-v{LAYOUT}", "user_id", USER_SETTINGS)


def tweet_document(doc: TweetDoc, likes: int = 0, retweets: int = 0) -> dict[str, Any]:
    created_ms = int(doc.created_at.timestamp() * 1000)
    return {
        "tweet_id": key(doc.tweet_id), "author_id": key(doc.author_id),
        "content": doc.content, "hashtags": list(doc.hashtags),
        "mention_ids": [key(m) for m in doc.mention_ids],
        "created_ms": created_ms, "revision": doc.revision,
        "like_count": likes, "retweet_count": retweets,
        "hot": hotness(created_ms, likes, retweets),
    }


def tombstone(tweet_id: int) -> dict[str, Any]:
    """What a delete leaves. Writes merge into documents and never send `deleted`,
    so a create or edit that lands later (redelivered, raced) stays hidden."""
    return {"tweet_id": key(tweet_id), "deleted": True, "content": "", "hashtags": [],
            "mention_ids": []}


def user_document(doc: UserDoc) -> dict[str, Any]:
    # No follower_count: a profile update merges and keeps the indexed count.
    return {"user_id": key(doc.user_id), "username": doc.username,
            "display_name": doc.display_name, "bio": doc.bio,
            "profile_picture_url": doc.profile_picture_url}


def user_from_hit(hit: dict[str, Any]) -> UserDoc:
    return UserDoc(int(hit["user_id"]), hit["username"], hit.get("display_name", ""),
                   hit.get("bio", ""), hit.get("profile_picture_url", ""),
                   int(hit.get("follower_count", 0)))
