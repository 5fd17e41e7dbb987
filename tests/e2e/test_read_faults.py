"""Reads through the edge while the caches and the store fail: with Redis
stopped, timelines and tweets still answer 200 from Cassandra; a restarted
Redis is used again without a failed request; with Redis and Cassandra both
stopped, the answer is 503 with Retry-After, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.edge import follow, home_ids, tweet
from tests.support.stack_control import (
    control,
    redis_programs,
    wait_all_serving,
    wait_infra_ready,
)
from tests.support.users import new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def reads(edge: httpx.AsyncClient, reader: dict[str, Any],
                tweet_id: str) -> tuple[httpx.Response, httpx.Response]:
    home = await edge.get(f"/v1/timeline/{reader['userId']}", headers=reader["headers"])
    one = await edge.get(f"/v1/tweets/{tweet_id}", headers=reader["headers"])
    return home, one


async def test_reads_survive_redis_and_fail_cleanly_without_the_store(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    posted = [await tweet(edge, author, f"still readable {n}") for n in range(3)]
    assert set(posted) <= set(await home_ids(edge, reader))  # cached in every tier
    # Every service now holds pooled Redis connections, which the restart will break.
    assert (await edge.get("/v1/trends", headers=reader["headers"])).status_code == 200

    # Every node: on a cluster one stopped primary leaves the others serving.
    await control("stop", *redis_programs())
    try:
        for _ in range(5):  # the first call finds Redis gone, later ones the open breaker
            home, one = await reads(edge, reader, posted[0])
            assert home.status_code == 200, home.text
            assert [e["tweet"]["tweetId"] for e in home.json()["entries"]][:3] == posted[::-1]
            assert one.status_code == 200, one.text
            assert one.json()["tweet"]["content"] == "still readable 0"

        await control("stop", "cassandra")
        try:
            home, one = await reads(edge, reader, posted[0])
            for response in (home, one):
                assert response.status_code == 503, response.text
                assert response.json()["code"] == 14
                assert int(response.headers["retry-after"]) > 0
                assert "Traceback" not in response.text
        finally:
            await control("start", "cassandra")
            await wait_infra_ready("cassandra", stack_env, 180)
    finally:
        await control("start", *redis_programs())
        await wait_infra_ready("redis", stack_env, 30)
        await wait_all_serving()

    # The services heal by themselves: the driver reconnects within seconds.
    async def healed() -> bool:
        posted_again = await edge.post("/v1/tweets", json={"content": "healed"},
                                       headers=author["headers"])
        assert posted_again.status_code in (200, 503), posted_again.text
        return posted_again.status_code == 200
    await eventually(healed, within=120, every=1.0, what="a tweet posted after the outage")
    # A restarted Redis is used again without a failed request.
    await control("restart", *redis_programs())
    await wait_infra_ready("redis", stack_env, 30)
    for _ in range(5):
        home, one = await reads(edge, reader, posted[0])
        assert (home.status_code, one.status_code) == (200, 200), (home.text, one.text)
        # Every service's Redis client reconnects, not only the read path's.
        trends = await edge.get("/v1/trends", headers=reader["headers"])
        assert trends.status_code == 200, trends.text
