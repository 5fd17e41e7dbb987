"""Invisible and spoofing text through the edge (issue 31, finding 4): text of
zero-width characters only is empty, and bidirectional overrides, embeddings
and isolates are refused, in display names, profile fields, tweets and
direct messages alike (services/shared/fields/text.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.edge import assert_error, tweet
from tests.support.users import new_user, sign_up

pytestmark = pytest.mark.e2e

ZERO_WIDTH = "\u200b\u200b\u200b"
RLO = "\u202e"


def fields(body: dict[str, object]) -> list[str]:
    details = body["details"]
    assert isinstance(details, list)
    return [v["field"] for d in details for v in d.get("fieldViolations", [])]


@pytest.mark.parametrize("display_name", [ZERO_WIDTH, f"{RLO}nimda", "\u2067x\u2069", "\u3164"])
async def test_sign_up_refuses_invisible_or_overriding_display_names(
        edge: httpx.AsyncClient, display_name: str) -> None:
    body = assert_error(await sign_up(edge, displayName=display_name), 400, 3)
    assert fields(body) == ["displayName"], body


@pytest.mark.parametrize(("field", "value"), [
    ("displayName", ZERO_WIDTH), ("displayName", f"{RLO}nimda"), ("bio", ZERO_WIDTH),
    ("location", f"Paris{RLO}"),
])
async def test_profile_updates_refuse_them_too(edge: httpx.AsyncClient, field: str,
                                               value: str) -> None:
    alice = await new_user(edge)
    r = await edge.patch(f"/v1/users/{alice['userId']}", json={field: value},
                         headers=alice["headers"])
    assert_error(r, 400, 3)
    r = await edge.get(f"/v1/users/{alice['userId']}", headers=alice["headers"])
    assert r.json()["user"].get(field, "") != value


@pytest.mark.parametrize("content", [ZERO_WIDTH, "\u2060 \ufeff", f"see {RLO}gnp.exe"])
async def test_tweets_and_edits_refuse_them(edge: httpx.AsyncClient, content: str) -> None:
    alice = await new_user(edge)
    r = await edge.post("/v1/tweets", json={"content": content}, headers=alice["headers"])
    assert fields(assert_error(r, 400, 3)) == ["content"]
    tweet_id = await tweet(edge, alice, "fine")
    r = await edge.patch(f"/v1/tweets/{tweet_id}", json={"content": content},
                         headers=alice["headers"])
    assert_error(r, 400, 3)


@pytest.mark.parametrize("content", [ZERO_WIDTH, f"{RLO}hi"])
async def test_messages_refuse_them(edge: httpx.AsyncClient, content: str) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    r = await edge.post("/v1/messages", json={"recipientUserId": bob["userId"],
                                              "content": content}, headers=alice["headers"])
    assert fields(assert_error(r, 400, 3)) == ["content"]


async def test_right_to_left_text_with_its_marks_is_fine(edge: httpx.AsyncClient) -> None:
    created = await sign_up(edge, displayName="\u05e9\u05dc\u05d5\u05dd \u200f(\u05d0)")
    assert created.status_code == 200, created.text
    alice = await new_user(edge)
    await tweet(edge, alice, "\u0645\u0631\u062d\u0628\u0627 \u200fhello\u200e!")
