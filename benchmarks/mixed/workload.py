"""The mixed workload, after DeathStarBench's socialNetwork: 60% home timeline
reads, 30% reads of a user's tweets, 10% writes (posts, with likes and follows
folded in), by a few hundred of the generated users, logged in right before
the run (access tokens live 15 minutes)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random

import httpx

from benchmarks.accounts import PASSWORD
from benchmarks.dataset.graph import Dataset, User
from benchmarks.mixed.vegeta import Target

MIX = {"home": 60, "user_tweets": 30, "post": 7, "like": 2, "follow": 1}
TARGETS = 20_000  # vegeta cycles through them; more than any step sends
LOGINS_IN_FLIGHT = 4  # argon2 verification is the users service's dearest call


async def log_in(edge: str, users: list[User]) -> dict[int, str]:
    """Access tokens of `users`, by logging each in through the edge."""
    gate = asyncio.Semaphore(LOGINS_IN_FLIGHT)
    async with httpx.AsyncClient(base_url=edge, timeout=120) as http:
        async def one(user: User) -> tuple[int, str]:
            async with gate:
                r = await http.post("/v1/auth/login", json={"username": user.username,
                                                            "password": PASSWORD})
            r.raise_for_status()
            return user.user_id, r.json()["accessToken"]
        return dict(await asyncio.gather(*(one(u) for u in users)))


def readers(data: Dataset, count: int, seed: int) -> list[User]:
    """The workload's active users: a random sample of the non-celebrities."""
    rng = random.Random(seed)
    return rng.sample(data.users[len(data.celebrities):], min(count, len(data.users) - 1))


def targets(edge: str, data: Dataset, tokens: dict[int, str], seed: int) -> list[Target]:
    rng = random.Random(seed)
    ids = [u.user_id for u in data.users]
    # Profiles are visited as they are followed: by the same Zipf popularity.
    popularity = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(ids))))
    tweet_ids = [t.tweet_id for t in data.tweets]
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=TARGETS)
    actors = list(tokens)
    made = []
    for n, kind in enumerate(kinds):
        me = rng.choice(actors)
        token = tokens[me]
        if kind == "home":
            made.append(Target(kind, "GET", f"{edge}/v1/timeline/{me}?pageSize=20", token))
        elif kind == "user_tweets":
            who = rng.choices(ids, cum_weights=popularity)[0]
            made.append(Target(kind, "GET", f"{edge}/v1/users/{who}/tweets?pageSize=20", token))
        elif kind == "post":
            words = " ".join(rng.choices(("load", "test", "mixed", "hello", "world"), k=6))
            body = json.dumps({"content": f"{words} #bench{rng.randrange(50)} n{n}"})
            made.append(Target(kind, "POST", f"{edge}/v1/tweets", token, body.encode()))
        elif kind == "like":
            made.append(Target(kind, "POST", f"{edge}/v1/tweets/{rng.choice(tweet_ids)}/like",
                               token, b"{}"))
        else:
            other = rng.choice([i for i in rng.sample(ids, 2) if i != me])
            made.append(Target(kind, "POST", f"{edge}/v1/users/{me}/follow", token,
                               json.dumps({"targetUserId": str(other)}).encode()))
    return made


async def warm_up(edge: str, tokens: dict[int, str]) -> None:
    """One home timeline read per reader: materialises the timelines the loader
    left to be rebuilt on first read (as a returning user's first visit does)."""
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=edge, timeout=120) as http:
        async def one(user_id: int, token: str) -> None:
            async with gate:
                r = await http.get(f"/v1/timeline/{user_id}",
                                   headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
        await asyncio.gather(*(one(u, t) for u, t in tokens.items()))
