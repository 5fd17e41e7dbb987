"""Idempotency keys on writes (services/shared/rpc/idempotency.py): a repeat is
answered from the first attempt, never run again, through the edge and on
either tweets process; a create whose process died after it wrote is settled
by the retry into exactly one tweet."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import httpx
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.rpc import idempotency
from services.shared.rpc.clients import internal_channel
from services.shared.stores import redis_client
from stack import topology
from tests.support.stack_control import control, processes, wait_serving
from tests.support.users import new_user

pytestmark = pytest.mark.e2e

CREATE = "/twitter.tweets.v1.TweetService/CreateTweet"


async def user_tweet_ids(edge: httpx.AsyncClient, user: dict[str, Any]) -> list[str]:
    response = await edge.get(f"/v1/users/{user['userId']}/tweets", headers=user["headers"])
    assert response.status_code == 200, response.text
    return [t["tweetId"] for t in response.json().get("tweets", [])]


def keyed(user: dict[str, Any], key: str) -> dict[str, str]:
    headers: dict[str, str] = user["headers"]
    return headers | {"Idempotency-Key": key}


async def test_a_repeat_gets_the_first_answer_and_posts_nothing(
        edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    key = uuid.uuid4().hex
    first = await edge.post("/v1/tweets", json={"content": "once only"}, headers=keyed(user, key))
    assert first.status_code == 200, first.text
    again = await edge.post("/v1/tweets", json={"content": "once only"}, headers=keyed(user, key))
    assert again.status_code == 200, again.text
    assert again.json()["tweet"]["tweetId"] == first.json()["tweet"]["tweetId"]
    assert await user_tweet_ids(edge, user) == [first.json()["tweet"]["tweetId"]]

    # The same key with another body names another request: refused as such.
    other = await edge.post("/v1/tweets", json={"content": "something else"},
                            headers=keyed(user, key))
    assert other.status_code == 422, other.text
    assert other.json()["code"] == 3
    # Keys are per user: another user's identical key is a fresh request.
    stranger = await new_user(edge)
    theirs = await edge.post("/v1/tweets", json={"content": "once only"},
                             headers=keyed(stranger, key))
    assert theirs.status_code == 200, theirs.text
    assert theirs.json()["tweet"]["tweetId"] != first.json()["tweet"]["tweetId"]


async def test_a_kept_error_is_replayed_and_deletes_take_keys(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    posted = await edge.post("/v1/tweets", json={"content": "to delete"},
                             headers=user["headers"])
    tweet_id = posted.json()["tweet"]["tweetId"]
    key = uuid.uuid4().hex
    for _ in range(2):
        deleted = await edge.delete(f"/v1/tweets/{tweet_id}", headers=keyed(user, key))
        assert deleted.status_code == 200, deleted.text  # the first answer, kept
    missing = await edge.delete(f"/v1/tweets/{tweet_id}",
                                headers=keyed(user, uuid.uuid4().hex))
    assert missing.status_code == 404, missing.text
    bad = await edge.post("/v1/tweets", json={"content": "x"}, headers=keyed(user, "k" * 300))
    assert bad.status_code == 400, bad.text


async def test_a_repeat_racing_the_original_on_the_other_process(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    """Both processes get the same keyed create at once: one runs it, the other
    is told it is in progress (409) or, if it came second, gets the answer."""
    settings = topology.load()
    ports = topology.process_ports(settings.service_port("tweets"), settings.processes["tweets"])
    if len(ports) < 2:
        pytest.skip("the stack runs one tweets process")
    user = await new_user(edge)
    key = uuid.uuid4().hex
    channels = [internal_channel(f"127.0.0.1:{p}", "unused") for p in ports[:2]]
    try:
        stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
        metadata = (("authorization", user["headers"]["Authorization"]),
                    (idempotency.METADATA_KEY, key))
        request = tweets_pb2.CreateTweetRequest(content="raced")
        outcomes = await asyncio.gather(
            *(stub.CreateTweet(request, metadata=metadata) for stub in stubs),
            return_exceptions=True)
    finally:
        for c in channels:
            await c.close()
    answered = [o.tweet.tweet_id for o in outcomes if isinstance(o, tweets_pb2.CreateTweetResponse)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert answered, outcomes
    assert len(set(answered)) == 1
    assert all(e.code() == grpc.StatusCode.ABORTED for e in refused), refused
    assert await user_tweet_ids(edge, user) == [str(answered[0])]
    # Once the first finished, a repeat anywhere gets its answer.
    again = await edge.post("/v1/tweets", json={"content": "raced"}, headers=keyed(user, key))
    assert again.json()["tweet"]["tweetId"] == str(answered[0])


async def crashed_attempt(stack_env: dict[str, str], user_id: int, key: str,
                          content: str, op_id: int) -> None:
    """The record a process SIGKILLed mid-create leaves: claimed, its operation
    noted, its lease lapsed (nobody will finish or release it)."""
    redis = redis_client.connect(stack_env["REDIS_URL"])
    try:
        digest = idempotency.request_hash(CREATE, tweets_pb2.CreateTweetRequest(content=content))
        await redis.hset(idempotency.record_key(user_id, key), mapping={
            "h": digest, "s": "running", "until": 0, "tok": "dead", "op": op_id})
        await redis.expire(idempotency.record_key(user_id, key), idempotency.TTL_SECONDS)
    finally:
        await redis.aclose()


async def test_a_retry_after_a_crash_between_commit_and_answer_gets_that_tweet(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    user = await new_user(edge)
    # The create committed (its rows and event row are written) but its answer was lost.
    landed = await edge.post("/v1/tweets", json={"content": "committed then killed"},
                             headers=user["headers"])
    tweet_id = landed.json()["tweet"]["tweetId"]
    key = uuid.uuid4().hex
    await crashed_attempt(stack_env, int(user["userId"]), key, "committed then killed",
                          int(tweet_id))
    retry = await edge.post("/v1/tweets", json={"content": "committed then killed"},
                            headers=keyed(user, key))
    assert retry.status_code == 200, retry.text
    assert retry.json()["tweet"]["tweetId"] == tweet_id
    assert await user_tweet_ids(edge, user) == [tweet_id]


async def test_a_retry_after_a_crash_before_commit_posts_exactly_one(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    user = await new_user(edge)
    earlier = await edge.post("/v1/tweets", json={"content": "an older one"},
                              headers=user["headers"])
    # An id the dead attempt drew but never wrote (beside a real one in time).
    never_written = int(earlier.json()["tweet"]["tweetId"]) + 1
    key = uuid.uuid4().hex
    await crashed_attempt(stack_env, int(user["userId"]), key, "killed before commit",
                          never_written)
    retry = await edge.post("/v1/tweets", json={"content": "killed before commit"},
                            headers=keyed(user, key))
    assert retry.status_code == 200, retry.text
    new_id = retry.json()["tweet"]["tweetId"]
    assert new_id != str(never_written)
    assert sorted(await user_tweet_ids(edge, user)) == sorted(
        [earlier.json()["tweet"]["tweetId"], new_id])
    gone = await edge.get(f"/v1/tweets/{never_written}", headers=user["headers"])
    assert gone.status_code == 404, gone.text


async def lapse_dead_leases(stack_env: dict[str, str], user_id: int, keys: list[str]) -> int:
    """Time passing for the records a killed process held: their leases
    (LEASE_MS) lapse. Returns how many had noted their operation."""
    redis = redis_client.connect(stack_env["REDIS_URL"])
    noted = 0
    try:
        for key in keys:
            name = idempotency.record_key(user_id, key)
            if await redis.hget(name, "s") == b"running":
                noted += bool(await redis.hexists(name, "op"))
                await redis.hset(name, "until", 0)
    finally:
        await redis.aclose()
    return noted


async def all_tweet_ids(edge: httpx.AsyncClient, user: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    token = ""
    while True:
        response = await edge.get(f"/v1/users/{user['userId']}/tweets", headers=user["headers"],
                                  params={"pageSize": 100, "pageToken": token})
        assert response.status_code == 200, response.text
        ids += [t["tweetId"] for t in response.json().get("tweets", [])]
        if not (token := response.json().get("nextPageToken", "")):
            return ids


async def test_keyed_creates_through_a_real_sigkill_post_each_tweet_exactly_once(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    """Keyed creates stream into the first tweets process while it is
    SIGKILLed: requests die in every phase (before the claim, between claim
    and commit, between commit and answer). Every key's retry then gets one
    tweet, the same one any answer before the kill named, and the author has
    exactly one tweet per key. (The two tests above pin the two crash phases
    deterministically; this one shows a real kill leaves nothing else.)"""
    settings = topology.load()
    port = topology.process_ports(settings.service_port("tweets"),
                                  settings.processes["tweets"]) or [settings.service_port("tweets")]
    user = await new_user(edge)

    def metadata_for(key: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", user["headers"]["Authorization"]),
                (idempotency.METADATA_KEY, key))

    answered: dict[str, str] = {}  # key -> tweet id, from answers before the kill
    interrupted: list[str] = []
    keys: list[str] = []
    killed = asyncio.Event()

    async def one(stub: Any, key: str) -> None:
        try:
            done = await stub.CreateTweet(tweets_pb2.CreateTweetRequest(content=f"kill {key}"),
                                          metadata=metadata_for(key), timeout=10)
            answered[key] = str(done.tweet.tweet_id)
        except grpc.aio.AioRpcError:
            interrupted.append(key)

    async def writer(stub: Any) -> None:
        while not killed.is_set():
            keys.append(key := uuid.uuid4().hex)
            await one(stub, key)

    async def killer() -> None:
        while len(answered) < 16:  # the writes are flowing: kill in the middle of them
            await asyncio.sleep(0.02)
        await control("signal", "KILL", processes("tweets")[0])
        killed.set()

    channel = internal_channel(f"127.0.0.1:{port[0]}", "unused")
    try:
        stub = tweets_pb2_grpc.TweetServiceStub(channel)
        await asyncio.wait_for(asyncio.gather(killer(), *(writer(stub) for _ in range(16))), 60)
    finally:
        await channel.close()
        await wait_serving("tweets")
    assert interrupted, "the kill should have cut some creates short"

    noted = await lapse_dead_leases(stack_env, int(user["userId"]), interrupted)
    print(f"{len(keys)} keyed creates, {len(interrupted)} cut short by the kill, "
          f"{noted} of them after noting their tweet id")

    for key in keys:
        retry = await edge.post("/v1/tweets", json={"content": f"kill {key}"},
                                headers=keyed(user, key))
        assert retry.status_code == 200, retry.text
        tweet_id = retry.json()["tweet"]["tweetId"]
        assert answered.setdefault(key, tweet_id) == tweet_id, key
    posted = await all_tweet_ids(edge, user)
    assert sorted(posted) == sorted(answered.values())
    assert len(set(posted)) == len(keys)
