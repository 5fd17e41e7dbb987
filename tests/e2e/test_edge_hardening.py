"""Issue 22, through the REST edge: no spelling of a path, no protocol and no
spelling of a login name escapes a limit or a check, and bad input is a 400.

Each test is one finding of the attack run; the rate-limit ones connect from
a loopback address of their own (127.0.0.1 is exempt locally, see test_edge.py).
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import secrets
from typing import Any

import grpc
import httpx
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from tests.support.edge import FromIp, assert_error, other_ip
from tests.support.users import PASSWORD, Account, MakeAccount, unique_name

pytestmark = pytest.mark.e2e

WRONG = "not the password"


async def send(client: httpx.AsyncClient, method: str, path: str, *,
               payload: Any = None, headers: dict[str, str] | None = None,
               source: str = "127.0.0.1") -> httpx.Response:
    """A request for exactly `path`: httpx drops dot segments, http.client
    sends the path as given."""
    url = httpx.URL(str(client.base_url))
    body = None if payload is None else json.dumps(payload).encode()
    sent = {"content-type": "application/json"} | (headers or {})

    def call() -> httpx.Response:
        conn = http.client.HTTPConnection(url.host, url.port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            return httpx.Response(answer.status, headers=answer.getheaders(),
                                  content=answer.read())
        finally:
            conn.close()

    return await asyncio.to_thread(call)


async def tweet_count(edge: httpx.AsyncClient, who: Account) -> int:
    r = await edge.get(f"/v1/users/{who.user_id}/tweets", params={"pageSize": 100},
                       headers=who.bearer)
    assert r.status_code == 200, r.text
    return len(r.json()["tweets"])


# --- High 1: a path the transcoder would also route is not a way around the edge --


async def test_other_spellings_of_a_route_are_404(edge: httpx.AsyncClient,
                                                  make_account: MakeAccount) -> None:
    alice, bob = await make_account(), await make_account()
    writes = [("POST", "/v1/tweets/", {"content": "x"}),
              ("POST", "/v1/tweets//", {"content": "x"}),
              ("POST", "/v1/tweets/.", {"content": "x"}),
              ("POST", f"/v1/users/{alice.user_id}/follow/", {"targetUserId": str(bob.user_id)}),
              ("POST", "/v1/messages/", {"recipientUserId": str(bob.user_id), "content": "x"}),
              ("POST", "/v1/notifications/read/", {}),
              ("GET", "/v1/notifications/", None),
              ("POST", "/v1/users/", {"username": unique_name(), "email": "a@example.com",
                                      "password": PASSWORD}),
              ("POST", "/v1/auth/login/", {"username": alice.username, "password": PASSWORD}),
              ("PATCH", f"/v1/users/{alice.user_id}/", {"bio": "x"}),
              ("DELETE", f"/v1/users/{alice.user_id}/follow/{bob.user_id}/", None),
              ("GET", f"/v1/users/{alice.user_id}/", None)]
    for method, path, body in writes:
        assert_error(await send(edge, method, path, payload=body, headers=alice.bearer), 404, 5)
    assert await tweet_count(edge, alice) == 0


async def test_the_tweet_limit_holds_for_every_spelling(
        from_ip: FromIp, make_account: MakeAccount) -> None:
    ip = other_ip()
    client = from_ip(ip)
    alice = await make_account()
    for i in range(10):
        r = await client.post("/v1/tweets", json={"content": f"tweet {i}"}, headers=alice.bearer)
        assert r.status_code == 200, r.text
    assert_error(await client.post("/v1/tweets", json={"content": "more"},
                                   headers=alice.bearer), 429, 8)
    for path in ("/v1/tweets/", "/v1/tweets//", "/v1/tweets/."):
        r = await send(client, "POST", path, payload={"content": "more"}, headers=alice.bearer,
                       source=ip)
        assert r.status_code in (404, 429), (path, r.status_code, r.text)
    assert await tweet_count(client, alice) == 10


async def test_unknown_fields_are_refused_on_every_spelling(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account()
    for path in ("/v1/tweets", "/v1/tweets/", "/v1/tweets//", "/v1/tweets/."):
        r = await send(edge, "POST", path, payload={"bogusField": 1, "content": "x"},
                       headers=alice.bearer)
        assert r.status_code in (400, 404), (path, r.status_code, r.text)
        assert r.json()["code"] in (3, 5)
    body = assert_error(await edge.post("/v1/tweets", json={"bogusField": 1},
                                        headers=alice.bearer), 400, 3)
    assert body["message"] == "unknown field: bogusField"
    # a route without a body takes no JSON fields either
    r = await edge.post("/v1/tweets", json={"content": "x"}, headers=alice.bearer)
    tweet_id = r.json()["tweet"]["tweetId"]
    assert_error(await edge.request("DELETE", f"/v1/tweets/{tweet_id}",
                                    json={"tweetId": "1"}, headers=alice.bearer), 400, 3)
    assert await tweet_count(edge, alice) == 1


async def test_login_and_sign_up_limits_hold_for_every_spelling(
        from_ip: FromIp, make_account: MakeAccount) -> None:
    """A token from any account used to open /v1/auth/login/ and /v1/users/
    (jwt_authn's public routes are exact paths), past the per-address limits."""
    client = from_ip(other_ip())
    alice = await make_account()
    for _ in range(30):  # Login: 30 a minute per address
        r = await client.post("/v1/auth/login", json={"username": unique_name("nobody"),
                                                      "password": WRONG})
        assert r.status_code == 401, r.text
    assert_error(await client.post("/v1/auth/login", json={
        "username": alice.username, "password": PASSWORD}), 429, 8)
    r = await client.post("/v1/auth/login/", json={"username": alice.username,
                                                   "password": PASSWORD},
                          headers=alice.bearer)
    assert r.status_code in (404, 429), r.text
    r = await client.post("/v1/users/", json={"username": unique_name(), "password": PASSWORD,
                                              "email": f"{unique_name()}@example.com"},
                          headers=alice.bearer)
    assert r.status_code in (404, 429), r.text


# --- High 2: plain gRPC on the public listener ------------------------------------


async def test_plain_grpc_on_the_public_listener_is_refused(
        edge_url: str, edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account()
    target = edge_url.removeprefix("http://")
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tweets_pb2_grpc.TweetServiceStub(channel)
        for _ in range(12):  # CreateTweet: 10 a minute per user, were it limited
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CreateTweet(tweets_pb2.CreateTweetRequest(content="over gRPC"),
                                       metadata=alice.metadata)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
        # reads too: nothing but transcoded REST reaches the services
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=1), metadata=alice.metadata)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert await tweet_count(edge, alice) == 0


async def test_grpc_framed_http1_requests_are_refused(edge: httpx.AsyncClient,
                                                      make_account: MakeAccount) -> None:
    alice = await make_account()
    frame = tweets_pb2.CreateTweetRequest(content="framed").SerializeToString()
    response = await edge.post(
        "/twitter.tweets.v1.TweetService/CreateTweet",
        content=b"\x00" + len(frame).to_bytes(4, "big") + frame,
        headers=alice.bearer | {"content-type": "application/grpc", "te": "trailers"})
    assert response.headers.get("grpc-status") == "12", response.headers  # UNIMPLEMENTED
    # nor does JSON sent to a gRPC path go anywhere
    assert_error(await edge.post("/twitter.tweets.v1.TweetService/CreateTweet",
                                 json={"content": "json"}, headers=alice.bearer), 404, 5)
    assert await tweet_count(edge, alice) == 0


# --- Medium 3: one login throttle per account, whatever name is typed ------------


async def lock_out(edge: httpx.AsyncClient, name: str) -> None:
    """Fails logins under `name` until the users service locks it (429)."""
    for _ in range(10):
        r = await edge.post("/v1/auth/login", json={"username": name, "password": WRONG})
        if r.status_code == 429:
            return
        assert_error(r, 401, 16)
    pytest.fail(f"{name} was never locked")


async def test_query_parameters_on_body_routes_are_400(edge: httpx.AsyncClient,
                                                       make_account: MakeAccount) -> None:
    alice = await make_account()
    r = await edge.post("/v1/auth/login", params={"username": alice.username},
                        json={"password": PASSWORD})
    assert_error(r, 400, 3)
    r = await edge.post("/v1/auth/login", params={"password": PASSWORD},
                        json={"username": alice.username})
    assert_error(r, 400, 3)
    r = await edge.post("/v1/tweets", params={"replyToTweetId": "1"}, json={"content": "x"},
                        headers=alice.bearer)
    assert_error(r, 400, 3)
    assert await tweet_count(edge, alice) == 0


async def test_a_locked_account_is_locked_under_every_name(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice = await make_account()
    await lock_out(edge, alice.username)
    for name in (alice.username, alice.username.upper(), f"  {alice.username}\t",
                 alice.email, alice.email.upper()):
        r = await edge.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
        body = assert_error(r, 429, 8)
        assert body["details"][0]["@type"].endswith("google.rpc.RetryInfo")
    # the query string is no way around it either
    r = await edge.post("/v1/auth/login", params={"username": alice.username},
                        json={"password": PASSWORD})
    assert r.status_code in (400, 429), r.text


async def test_failures_under_the_email_lock_the_username_login(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, bob = await make_account(), await make_account()
    await lock_out(edge, alice.email.upper())
    assert_error(await edge.post("/v1/auth/login", json={
        "username": alice.username, "password": PASSWORD}), 429, 8)
    # another account is untouched
    r = await edge.post("/v1/auth/login", json={"username": bob.username, "password": PASSWORD})
    assert r.status_code == 200, r.text


async def test_look_alike_unicode_login_names_are_400(edge: httpx.AsyncClient,
                                                      make_account: MakeAccount) -> None:
    """U+212A KELVIN SIGN lower-cases to "k": a username is ASCII, so such a
    name is refused as no username at all, not matched to the account."""
    alice = await make_account("k")  # a username starting with k
    kelvin = "\u212a" + alice.username[1:]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in alice.username)
    for name in (kelvin, fullwidth):
        r = await edge.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
        body = assert_error(r, 400, 3)
        assert body["details"][0]["fieldViolations"][0]["field"] == "username"


# --- Low 7: bad input is 400, never 500 ------------------------------------------


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "ab\ncd", "x" * 300,
                                  secrets.token_urlsafe(8000),
                                  f"{secrets.token_urlsafe(3000)}@example.com"])
async def test_malformed_login_names_are_400(edge: httpx.AsyncClient, name: str) -> None:
    r = await edge.post("/v1/auth/login", json={"username": name, "password": PASSWORD})
    body = assert_error(r, 400, 3)
    assert body["details"][0]["fieldViolations"][0]["field"] == "username"


async def test_nul_bytes_in_reads_are_400(edge: httpx.AsyncClient,
                                          make_account: MakeAccount) -> None:
    alice = await make_account()
    for path, params in [("/v1/search/tweets", {"q": "a\x00b"}),
                         ("/v1/search/users", {"q": "a\x00b"}),
                         ("/v1/search/tweets", {"q": "\x00"}),
                         ("/v1/users/by-username/a%00b", {}),
                         ("/v1/users/by-username/%00", {})]:
        assert_error(await edge.get(path, params=params, headers=alice.bearer), 400, 3)
    # a well-formed name that nobody has is still a 404
    assert_error(await edge.get("/v1/users/by-username/nobody_here_0", headers=alice.bearer),
                 404, 5)


def forged_tokens() -> list[str]:
    """Page tokens a client could make without the server's key."""
    made = [json.dumps(v).encode() for v in ([0, 1], ["x", 1], [1e300], {"a": 1}, [None])]
    return ([base64.urlsafe_b64encode(m).decode().rstrip("=") for m in made]
            + [base64.urlsafe_b64encode(m + secrets.token_bytes(16)).decode().rstrip("=")
               for m in made]
            + ["zzz", "%00", "-1", "A" * 400, "\x00"])


async def test_forged_page_tokens_are_400(edge: httpx.AsyncClient,
                                          make_account: MakeAccount) -> None:
    alice, bob = await make_account(), await make_account()
    lists: list[tuple[str, dict[str, Any]]] = [
        (f"/v1/users/{alice.user_id}/followers", {}),
        (f"/v1/users/{alice.user_id}/following", {}),
        (f"/v1/users/{alice.user_id}/tweets", {}),
        (f"/v1/timeline/{alice.user_id}", {}),
        (f"/v1/timeline/{alice.user_id}/mentions", {}),
        ("/v1/conversations", {}),
        (f"/v1/conversations/{bob.user_id}/messages", {}),
        ("/v1/search/tweets", {"q": "hello"}),
        ("/v1/search/users", {"q": "hello"}),
        ("/v1/notifications", {}),
    ]
    for path, params in lists:
        for token in forged_tokens():
            r = await edge.get(path, params=params | {"pageToken": token}, headers=alice.bearer)
            assert_error(r, 400, 3)
