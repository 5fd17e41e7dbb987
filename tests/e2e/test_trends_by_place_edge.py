"""Trends by place (issue 20): tweets may carry a coarse place (an ISO 3166-1
alpha-2 country code); GET /v1/trends?place=XX returns that place's trends
beside the worldwide ones."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.support.edge import assert_error
from tests.support.trends import counts, private_places, ranked_fairly
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def placed(edge: httpx.AsyncClient, user: User, content: str,
                 place: str) -> dict[str, Any]:
    r = await edge.post("/v1/tweets", json={"content": content, "place": place},
                        headers=user["headers"])
    assert r.status_code == 200, r.text
    tweet: dict[str, Any] = r.json()["tweet"]
    return tweet


async def test_a_places_trends_come_beside_the_global_ones(edge: httpx.AsyncClient) -> None:
    a, b, c = await new_user(edge), await new_user(edge), await new_user(edge)
    here, there = "h" + secrets.token_hex(4), "t" + secrets.token_hex(4)
    home, away = private_places(2)  # trends of their own (tests/support/trends.py)
    first = await placed(edge, a, f"#{here} in one place", home.lower())
    assert first["place"] == home  # stored upper case, shown on the tweet
    await placed(edge, b, f"#{here} too", home)
    await placed(edge, c, f"#{there} in another", away)

    async def counted() -> dict[str, Any] | None:
        r = await edge.get("/v1/trends", params={"place": home.lower(), "limit": 50},
                           headers=a["headers"])
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        # Every place counts worldwide too: listed there unless 50 busier
        # hashtags of the hour (a benchmark's, say) crowd it out.
        ready = counts(body["placeTrends"]).get(here) == 2 and \
            ranked_fairly(body["trends"], here, 2, 50) and \
            ranked_fairly(body["trends"], there, 1, 50)
        return body if ready else None
    body = await eventually(counted, within=5.0)
    assert body["place"] == home
    assert there not in counts(body["placeTrends"])  # the other place's stay its own

    r = await edge.get(f"/v1/tweets/{first['tweetId']}", headers=c["headers"])
    assert r.json()["tweet"]["place"] == home
    r = await edge.get("/v1/trends", headers=a["headers"])  # no place: none of a place's
    assert "placeTrends" not in r.json() or r.json()["placeTrends"] == []


@pytest.mark.parametrize("place", ["XX", "FRA", "1", "F", "é"])
async def test_a_place_must_be_a_country_code(edge: httpx.AsyncClient, place: str) -> None:
    user = await new_user(edge)
    r = await edge.post("/v1/tweets", json={"content": "where?", "place": place},
                        headers=user["headers"])
    assert_error(r, 400, 3)
    r = await edge.get("/v1/trends", params={"place": place}, headers=user["headers"])
    assert_error(r, 400, 3)
