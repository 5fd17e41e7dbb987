"""Steady traffic through the edge while the cluster changes under it (a
rolling release, a deleted pod), for `make k8s-e2e` (tools/k8s/e2e.sh).

    python -m tools.k8s.traffic --edge http://127.0.0.1:30080 --until FILE --out JSON

Sets up a few users (they follow each other, post, start an upload), then
until FILE exists sends reads that touch every service (users, tweets,
timeline, search, media, messages, notifications; ratelimit sees each one)
and tweet writes. A write carries an Idempotency-Key and is retried with it
after a transport error or a 5xx, so it is answered at most once. At the end
every answered write must be readable ("lost" otherwise). A read that meets
a connection the edge closed without answering is retried once (as HTTP
clients do for GET); the summary lists those retries. The summary (JSON)
counts failed reads, writes answered, refused (a clean HTTP error) or
unanswered, lost writes, and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "correct horse battery"  # noqa: S105 - throwaway accounts of a test cluster
WRITE_ATTEMPTS = 4
READ_ATTEMPTS = 2
WRITE_EVERY = 4  # every 4th request writes


@dataclass
class Tally:
    reads: int = 0
    failed_reads: int = 0
    writes: int = 0
    answered: int = 0
    refused: int = 0
    unanswered: int = 0
    lost: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)

    def failure(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1


async def new_user(edge: httpx.AsyncClient) -> dict[str, Any]:
    name = f"k{uuid.uuid4().hex[:14]}"
    created = await edge.post("/v1/users", json={"username": name, "email": f"{name}@example.com",
                                                 "password": PASSWORD})
    created.raise_for_status()
    user: dict[str, Any] = created.json()["user"]
    tokens = (await edge.post("/v1/auth/login", json={"username": name, "password": PASSWORD}))
    tokens.raise_for_status()
    user["headers"] = {"Authorization": f"Bearer {tokens.json()['accessToken']}"}
    return user


async def setup(edge: httpx.AsyncClient, count: int) -> tuple[list[dict[str, Any]], list[str], str]:
    users = [await new_user(edge) for _ in range(count)]
    tweet_ids = []
    for i, user in enumerate(users):
        star = users[(i + 1) % count]
        r = await edge.post(f"/v1/users/{user['userId']}/follow",
                            json={"targetUserId": star["userId"]}, headers=user["headers"])
        r.raise_for_status()
        r = await edge.post("/v1/tweets", json={"content": f"traffic setup {i}"},
                            headers=user["headers"])
        r.raise_for_status()
        tweet_ids.append(r.json()["tweet"]["tweetId"])
    r = await edge.post("/v1/media", json={"contentType": "image/png", "sizeBytes": 10},
                        headers=users[0]["headers"])
    r.raise_for_status()
    return users, tweet_ids, r.json()["mediaId"]


def reads(users: list[dict[str, Any]], tweet_ids: list[str], media_id: str
          ) -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """(service, path, params, headers) of one read per service."""
    user = secrets.choice(users)
    h = user["headers"]
    return [
        ("users", f"/v1/users/{secrets.choice(users)['userId']}", {}, h),
        ("tweets", f"/v1/tweets/{secrets.choice(tweet_ids)}", {}, h),
        ("timeline", f"/v1/timeline/{user['userId']}", {}, h),
        ("search", "/v1/search/tweets", {"q": "traffic"}, h),
        ("media", f"/v1/media/{media_id}", {}, users[0]["headers"]),
        ("messages", "/v1/conversations", {}, h),
        ("notifications", "/v1/notifications", {}, h),
    ]


async def read(edge: httpx.AsyncClient, tally: Tally, users: list[dict[str, Any]],
               tweet_ids: list[str], media_id: str) -> None:
    service, path, params, headers = secrets.choice(reads(users, tweet_ids, media_id))
    started = time.monotonic()
    tally.reads += 1
    for attempt in range(READ_ATTEMPTS):
        try:
            r = await edge.get(path, params=params, headers=headers)
            break
        except (httpx.RemoteProtocolError, httpx.ConnectError) as e:
            # The edge closed a kept-alive connection before answering (a pod
            # going away): a GET is retried once, as browsers and Go's
            # net/http do; counted apart from failures.
            if attempt + 1 < READ_ATTEMPTS:
                tally.failure(f"read retried after {type(e).__name__} (closed, unanswered)")
                continue
            tally.failed_reads += 1
            tally.failure(f"read {service}: {type(e).__name__}")
            return
        except httpx.HTTPError as e:
            tally.failed_reads += 1
            tally.failure(f"read {service}: {type(e).__name__}")
            return
    tally.latencies.append(time.monotonic() - started)
    if r.status_code != HTTPStatus.OK:
        tally.failed_reads += 1
        tally.failure(f"read {service}: HTTP {r.status_code}")


async def write(edge: httpx.AsyncClient, tally: Tally, users: list[dict[str, Any]], n: int) -> None:
    user = secrets.choice(users)
    headers = user["headers"] | {"Idempotency-Key": uuid.uuid4().hex}
    body = {"content": f"traffic {n} @{secrets.choice(users)['username']}"}
    tally.writes += 1
    started = time.monotonic()
    last = ""
    for attempt in range(WRITE_ATTEMPTS):
        if attempt:
            await asyncio.sleep(0.5 * attempt)
        try:
            r = await edge.post("/v1/tweets", json=body, headers=headers)
        except httpx.HTTPError as e:
            last = type(e).__name__
            continue
        if r.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            last = f"HTTP {r.status_code}"
            continue
        tally.latencies.append(time.monotonic() - started)
        if r.status_code == HTTPStatus.OK:
            tally.answered += 1
            tally.written.append(r.json()["tweet"]["tweetId"])
        else:  # a clean refusal: the JSON error of the edge
            tally.refused += 1
            tally.failure(f"write refused: HTTP {r.status_code} {r.json().get('message', '')[:60]}")
        if attempt:
            tally.failure(f"write retried after {last}")
        return
    tally.unanswered += 1
    tally.failure(f"write unanswered: {last}")


async def run(edge_url: str, until: Path, rate: float, out: Path) -> None:
    transport = httpx.AsyncHTTPTransport(retries=2)  # connection attempts only
    verify = httpx.AsyncHTTPTransport(retries=2)
    async with httpx.AsyncClient(base_url=edge_url, timeout=15, transport=transport) as edge:
        users, tweet_ids, media_id = await setup(edge, 6)
        await asyncio.to_thread(Path(f"{out}.ready").touch)
        tally = Tally()
        started = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        for n in itertools.count():
            if await asyncio.to_thread(until.exists):
                break
            job = (write(edge, tally, users, n) if n % WRITE_EVERY == WRITE_EVERY - 1
                   else read(edge, tally, users, tweet_ids, media_id))
            task = asyncio.create_task(job)
            pending.add(task)
            task.add_done_callback(pending.discard)
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*pending)
        seconds = time.monotonic() - started
    # Nothing answered may be lost: read back on fresh connections (the pooled
    # ones may lead to pods that are gone).
    async with httpx.AsyncClient(base_url=edge_url, timeout=15, transport=verify) as edge:
        for tweet_id in tally.written:
            r = await edge.get(f"/v1/tweets/{tweet_id}", headers=users[0]["headers"])
            if r.status_code != HTTPStatus.OK:
                tally.lost += 1
    lat = sorted(tally.latencies) or [0.0]
    summary = {
        "seconds": round(seconds, 1), "reads": tally.reads, "failed_reads": tally.failed_reads,
        "writes": tally.writes, "answered": tally.answered, "refused": tally.refused,
        "unanswered": tally.unanswered, "lost": tally.lost,
        "p50_ms": round(lat[len(lat) // 2] * 1000),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000),
        "failures": tally.failures,
    }
    await asyncio.to_thread(out.write_text, json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edge", default="http://127.0.0.1:30080")
    parser.add_argument("--until", type=Path, required=True, help="stop once this file exists")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--out", type=Path, required=True, help="the JSON summary")
    args = parser.parse_args()
    asyncio.run(run(args.edge, args.until, args.rate, args.out))


if __name__ == "__main__":
    main()
