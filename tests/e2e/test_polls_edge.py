"""Polls through the Envoy edge: a tweet with a poll, the rules of its options
and duration, one vote per user, results hidden until the viewer votes or the
poll ends, the end refusing votes and notifying the author and the voters,
and blocks.

The local stack lets a poll last 2 seconds and ends it within about 4 more
(POLL_* settings in stack/contract.py, docs/POLLS.md), so the end is real,
not simulated."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.blocks import relate
from tests.support.edge import FromIp, assert_error, other_ip
from tests.support.notifications import find, gone, group_when, groups
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def poll_tweet(edge: httpx.AsyncClient, author: User, options: list[str],
                     duration: str = "600s") -> dict[str, Any]:
    r = await edge.post("/v1/tweets", headers=author["headers"], json={
        "content": "which one?", "poll": {"options": options, "duration": duration}})
    assert r.status_code == 200, r.text
    tweet: dict[str, Any] = r.json()["tweet"]
    return tweet


async def get_poll(edge: httpx.AsyncClient, viewer: User, tweet_id: str) -> httpx.Response:
    return await edge.get(f"/v1/tweets/{tweet_id}/poll", headers=viewer["headers"])


async def vote(edge: httpx.AsyncClient, voter: User, tweet_id: str, option: int,
               **headers: str) -> httpx.Response:
    return await edge.post(f"/v1/tweets/{tweet_id}/poll/vote", json={"option": option},
                           headers=voter["headers"] | headers)


def counts(poll: dict[str, Any]) -> list[int]:
    return [int(o.get("voteCount", 0)) for o in poll["options"]]


def violations(body: dict[str, Any]) -> set[str]:
    return {v["field"] for d in body.get("details", []) for v in d.get("fieldViolations", [])}


async def test_a_poll_is_validated_with_a_violation_per_field(edge: httpx.AsyncClient) -> None:
    author = await new_user(edge)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"options": ["only one"], "duration": "600s"}, {"poll.options"}),
        ({"options": list("abcde"), "duration": "600s"}, {"poll.options"}),
        ({"options": ["a" * 26, "b"], "duration": "600s"}, {"poll.options[0]"}),
        ({"options": ["Yes", "yes"], "duration": "600s"}, {"poll.options"}),
        ({"options": ["a", "  "], "duration": "600s"}, {"poll.options[1]"}),
        ({"options": ["a", "b"], "duration": "1s"}, {"poll.duration"}),
        ({"options": ["a", "b"], "duration": "604801s"}, {"poll.duration"}),
        ({"options": ["a", "b"]}, {"poll.duration"}),
        ({"options": ["x"], "duration": "1s"}, {"poll.options", "poll.duration"}),
    ]
    for poll, fields in cases:
        r = await edge.post("/v1/tweets", json={"content": "q", "poll": poll},
                            headers=author["headers"])
        assert violations(assert_error(r, 400, 3)) == fields, (poll, r.text)
    # 25 characters (code points) is the limit, 7 days the longest duration.
    tweet = await poll_tweet(edge, author, ["é" * 25, "b"], duration="604800s")
    assert [o["label"] for o in tweet["poll"]["options"]] == ["é" * 25, "b"]


async def test_results_are_hidden_until_the_viewer_votes_and_a_vote_is_once(
        edge: httpx.AsyncClient) -> None:
    author, voter, other = await asyncio.gather(*(new_user(edge) for _ in range(3)))
    tweet = await poll_tweet(edge, author, ["tea", "coffee", "water"])
    tweet_id = tweet["tweetId"]
    assert [o["position"] for o in tweet["poll"]["options"]] == [1, 2, 3]
    assert not tweet["poll"]["resultsVisible"]
    assert not tweet["poll"]["ended"]

    before = (await get_poll(edge, voter, tweet_id)).json()["poll"]
    assert not before.get("resultsVisible")
    assert counts(before) == [0, 0, 0]

    r = await vote(edge, voter, tweet_id, 2)
    assert r.status_code == 200, r.text
    after = r.json()["poll"]
    assert after["resultsVisible"]
    assert after["viewerVote"] == 2
    assert counts(after) == [0, 1, 0]
    assert int(after["totalVotes"]) == 1

    # The same vote again (a retry) is answered the same; another is refused.
    again = await vote(edge, voter, tweet_id, 2)
    assert again.status_code == 200
    assert counts(again.json()["poll"]) == [0, 1, 0]
    assert_error(await vote(edge, voter, tweet_id, 1), 409, 6)
    assert_error(await vote(edge, voter, tweet_id, 4), 400, 3)
    assert_error(await vote(edge, author, tweet_id, 1), 412, 9)

    # Someone who has not voted sees no counts; the author sees them.
    hidden = (await get_poll(edge, other, tweet_id)).json()["poll"]
    assert not hidden.get("resultsVisible")
    assert counts(hidden) == [0, 0, 0]
    assert int(hidden["totalVotes"]) == 0
    assert hidden["viewerVote"] == 0
    shown = (await get_poll(edge, author, tweet_id)).json()["poll"]
    assert shown["resultsVisible"]
    assert counts(shown) == [0, 1, 0]

    # The tweet reads with its poll everywhere, never with results.
    read = (await edge.get(f"/v1/tweets/{tweet_id}", headers=other["headers"])).json()
    assert [o["label"] for o in read["tweet"]["poll"]["options"]] == ["tea", "coffee", "water"]
    plain = (await edge.post("/v1/tweets", json={"content": "no poll"},
                             headers=author["headers"])).json()["tweet"]
    assert plain.get("poll") is None
    assert_error(await get_poll(edge, other, plain["tweetId"]), 404, 5)


async def test_an_idempotency_key_replays_the_vote(edge: httpx.AsyncClient) -> None:
    author, voter = await asyncio.gather(new_user(edge), new_user(edge))
    tweet_id = (await poll_tweet(edge, author, ["a", "b"]))["tweetId"]
    first = await vote(edge, voter, tweet_id, 1, **{"Idempotency-Key": "vote-1"})
    replay = await vote(edge, voter, tweet_id, 1, **{"Idempotency-Key": "vote-1"})
    assert first.status_code == replay.status_code == 200
    assert counts(replay.json()["poll"]) == [1, 0]


async def test_the_end_refuses_votes_shows_results_and_notifies_author_and_voters(
        edge: httpx.AsyncClient) -> None:
    author, fan, critic, shunned, bystander = await asyncio.gather(
        *(new_user(edge) for _ in range(5)))
    tweet_id = (await poll_tweet(edge, author, ["yes", "no"], duration="3s"))["tweetId"]
    results = await asyncio.gather(vote(edge, fan, tweet_id, 1), vote(edge, critic, tweet_id, 2),
                                   vote(edge, shunned, tweet_id, 2))
    assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
    await relate(edge, author, shunned, "block")  # after voting: their vote stays

    async def ended() -> dict[str, Any] | None:
        poll: dict[str, Any] = (await get_poll(edge, bystander, tweet_id)).json()["poll"]
        return poll if poll.get("ended") else None

    final = await eventually(ended, within=15, every=0.2, what="the poll's end")
    assert final["resultsVisible"]
    assert counts(final) == [1, 2]
    assert_error(await vote(edge, bystander, tweet_id, 1), 412, 9)

    for user in (author, fan, critic):
        group = await group_when(edge, user, "POLL_ENDED", tweet_id, 1, within=30)
        assert group["recentActorIds"] == [author["userId"]]
    # The same event named them all: a bystander who only read the poll, and a
    # voter the author blocks since, are not told.
    for user in (bystander, shunned):
        listed = (await groups(edge, user, pageSize=100)).get("groups", [])
        assert find(listed, "POLL_ENDED", tweet_id) is None

    # Deleting the tweet takes the notifications back, as for a mention.
    r = await edge.delete(f"/v1/tweets/{tweet_id}", headers=author["headers"])
    assert r.status_code == 200, r.text
    for user in (author, fan):
        await gone(edge, user, "POLL_ENDED", tweet_id, within=30)


async def test_blocks_apply_to_reading_and_voting(edge: httpx.AsyncClient) -> None:
    author, blocked, blocker = await asyncio.gather(*(new_user(edge) for _ in range(3)))
    tweet_id = (await poll_tweet(edge, author, ["a", "b"]))["tweetId"]
    await relate(edge, author, blocked, "block")
    await relate(edge, blocker, author, "block")
    # The author blocks them: the tweet and its poll do not exist for them.
    assert_error(await get_poll(edge, blocked, tweet_id), 404, 5)
    assert_error(await vote(edge, blocked, tweet_id, 1), 404, 5)
    # They block the author: they may not vote until they unblock.
    assert_error(await vote(edge, blocker, tweet_id, 1), 403, 7)
    shown = (await get_poll(edge, author, tweet_id)).json()["poll"]
    assert counts(shown) == [0, 0]


async def test_votes_are_rate_limited_per_user(edge: httpx.AsyncClient, from_ip: FromIp) -> None:
    """VotePoll: 30 a minute per user (edge/ratelimits.yaml), from an address
    the local stack does not exempt. Repeating one vote is enough to count."""
    client = from_ip(other_ip())
    author, voter = await asyncio.gather(new_user(edge), new_user(edge))
    tweet_id = (await poll_tweet(edge, author, ["a", "b"]))["tweetId"]
    for _ in range(30):
        r = await vote(client, voter, tweet_id, 1)
        assert r.status_code == 200, r.text
    assert 'name="op=VotePoll/user_id"' in r.headers["x-ratelimit-limit"]
    refused = await vote(client, voter, tweet_id, 1)
    body = assert_error(refused, 429, 8)
    assert "op=VotePoll/user_id" in body["message"], body
    # The vote counted once, however often it was sent.
    shown = (await get_poll(edge, author, tweet_id)).json()["poll"]
    assert counts(shown) == [1, 0]
