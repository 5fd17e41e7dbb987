"""Calls through the edge the e2e tests share: the JSON error check, tweets,
follows and timelines, tokens signed with the stack's own key, and client
addresses of their own for the rate-limit tests."""

from __future__ import annotations

import base64
import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tests.support.users import User

# Makes a client of the edge that connects from the given loopback address.
FromIp = Callable[[str], httpx.AsyncClient]


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    """The edge's JSON error: the HTTP status, the gRPC code, a message, no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["message"], body
    assert "Traceback" not in response.text
    return body


async def tweet(edge: httpx.AsyncClient, user: User, content: str, place: str = "") -> str:
    """Posts a tweet (in `place`, a country code, if given); returns its id."""
    body = {"content": content, "place": place} if place else {"content": content}
    r = await edge.post("/v1/tweets", json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    tweet_id: str = r.json()["tweet"]["tweetId"]
    return tweet_id


async def follow(edge: httpx.AsyncClient, fan: User, star: User) -> None:
    r = await edge.post(f"/v1/users/{fan['userId']}/follow",
                        json={"targetUserId": star["userId"]}, headers=fan["headers"])
    assert r.status_code == 200, r.text


async def home_ids(edge: httpx.AsyncClient, user: User, path: str = "") -> list[str]:
    """The tweet ids of the user's home timeline (or of `path` under it: "/mentions")."""
    r = await edge.get(f"/v1/timeline/{user['userId']}{path}", headers=user["headers"])
    assert r.status_code == 200, r.text
    return [e["tweet"]["tweetId"] for e in r.json()["entries"]]


def other_ip() -> str:
    """A loopback address no other test uses (127.0.0.1 is exempt from rate limits locally)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def signed_token(claims: dict[str, Any], key: Any, kid: str, alg: str = "EdDSA") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def stack_signing_key() -> tuple[str, Ed25519PrivateKey]:
    """The users service's newest signing key (its kid and the private key)."""
    keys_dir = Path(os.environ["AUTH_KEYS_DIR"])
    path = sorted(keys_dir.glob("*.pem"))[-1]
    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return path.stem, key


def b64_json(data: dict[str, Any]) -> str:
    """A JWT segment: unpadded base64url of the JSON."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
