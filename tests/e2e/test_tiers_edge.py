"""Account tiers (issue 20): the verified flag is set only by the internal admin
RPC, travels in the access token's `tier` claim, and the edge gives each tier
its own per-user write budget (edge/ratelimits.yaml: regular 100/minute,
verified 1,000/minute)."""

from __future__ import annotations

import grpc
import httpx
import jwt
import pytest
from twitter.users.v1 import users_pb2, users_pb2_grpc

from tests.support.edge import FromIp, assert_error, other_ip
from tests.support.users import PASSWORD, Account, MakeAccount

pytestmark = pytest.mark.e2e

REGULAR_BUDGET = 100
# The window slides (two weighted fixed windows): a burst that crosses a
# minute boundary may get a few more through, never fewer.
BOUNDARY_SLACK = 30
# Four write RPCs in turn, so no per-operation limit (60/minute) is reached first.
WRITES = (("POST", "like"), ("DELETE", "like"), ("POST", "retweet"), ("DELETE", "retweet"))


def tier_of(access_token: str) -> str:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    tier: str = claims["tier"]
    return tier


async def verified_account(make_account: MakeAccount,
                           users: users_pb2_grpc.UserServiceAsyncStub,
                           auth_stub: users_pb2_grpc.AuthServiceAsyncStub) -> Account:
    account = await make_account()
    changed = await users.SetUserVerified(users_pb2.SetUserVerifiedRequest(
        user_id=account.user_id, verified=True))
    assert changed.user.verified
    # Tokens carry the tier they were issued with: log in again.
    tokens = await auth_stub.Login(users_pb2.LoginRequest(username=account.username,
                                                          password=PASSWORD))
    return Account(account.user_id, account.username, account.email, tokens.access_token,
                   tokens.refresh_token)


async def first_refusal(client: httpx.AsyncClient, headers: dict[str, str],
                        tweet_id: str) -> tuple[int, httpx.Response]:
    """How many writes went through before the first 429, and that 429."""
    for i in range(REGULAR_BUDGET + BOUNDARY_SLACK):
        verb, what = WRITES[i % len(WRITES)]
        r = await client.request(verb, f"/v1/tweets/{tweet_id}/{what}",
                                 json={} if verb == "POST" else None, headers=headers)
        if r.status_code != 200:
            return i, r
    raise AssertionError("never refused")


async def writes(client: httpx.AsyncClient, who: Account, tweet_id: str,
                 count: int) -> list[httpx.Response]:
    done = []
    for i in range(count):
        verb, what = WRITES[i % len(WRITES)]
        done.append(await client.request(verb, f"/v1/tweets/{tweet_id}/{what}",
                                         json={} if verb == "POST" else None,
                                         headers=who.bearer))
    return done


async def test_verified_users_get_a_higher_write_budget_than_regular_ones(
        from_ip: FromIp, make_account: MakeAccount, edge: httpx.AsyncClient,
        users: users_pb2_grpc.UserServiceAsyncStub,
        auth_stub: users_pb2_grpc.AuthServiceAsyncStub) -> None:
    client = from_ip(other_ip())
    author, regular = await make_account(), await make_account()
    vip = await verified_account(make_account, users, auth_stub)
    assert (tier_of(regular.access_token), tier_of(vip.access_token)) == ("regular", "verified")
    r = await edge.post("/v1/tweets", json={"content": "popular"}, headers=author.bearer)
    tweet_id = r.json()["tweet"]["tweetId"]

    passed, refused = await first_refusal(client, regular.bearer, tweet_id)
    assert passed >= REGULAR_BUDGET
    body = assert_error(refused, 429, 8)
    assert "tier/user_id" in body["message"], body

    more = await writes(client, vip, tweet_id, REGULAR_BUDGET + 50)
    assert [r.status_code for r in more] == [200] * (REGULAR_BUDGET + 50), more[-1].text
    # The profile says so too.
    r = await edge.get(f"/v1/users/{vip.user_id}", headers=regular.bearer)
    assert r.json()["user"]["verified"] is True


async def test_only_internal_callers_set_the_verified_flag(
        stack_env: dict[str, str], make_account: MakeAccount,
        auth_stub: users_pb2_grpc.AuthServiceAsyncStub) -> None:
    me = await make_account()
    async with grpc.aio.insecure_channel(stack_env["USERS_ADDR"]) as channel:
        stub = users_pb2_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.SetUserVerified(users_pb2.SetUserVerifiedRequest(
                user_id=me.user_id, verified=True), metadata=me.metadata)
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    tokens = await auth_stub.Login(users_pb2.LoginRequest(username=me.username,
                                                          password=PASSWORD))
    assert tier_of(tokens.access_token) == "regular"


async def test_a_client_cannot_claim_a_tier_by_header(
        from_ip: FromIp, make_account: MakeAccount, edge: httpx.AsyncClient) -> None:
    client = from_ip(other_ip())
    author, regular = await make_account(), await make_account()
    r = await edge.post("/v1/tweets", json={"content": "x"}, headers=author.bearer)
    tweet_id = r.json()["tweet"]["tweetId"]
    forged = Account(regular.user_id, regular.username, regular.email,
                     regular.access_token, regular.refresh_token)
    headers = forged.bearer | {"x-user-tier": "verified"}
    passed, refused = await first_refusal(client, headers, tweet_id)
    assert passed >= REGULAR_BUDGET
    assert "tier/user_id" in assert_error(refused, 429, 8)["message"]
