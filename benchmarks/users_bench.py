"""Users benchmarks: login and follow through the edge; paging all follower ids
of a user with 1,000,000 followers (loaded with COPY)."""

from __future__ import annotations

import asyncio
import json
import random
import time

import psycopg
from twitter.users.v1 import users_pb2, users_pb2_grpc

from benchmarks import wrk
from benchmarks.accounts import PASSWORD, accounts
from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel

CELEBRITY = "bench_celebrity"
FOLLOWERS = 1_000_000


def bench_login(edge_url: str) -> wrk.Result:
    body = json.dumps({"username": "bench_0", "password": PASSWORD})
    script = f"""
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""
    return wrk.run("login (argon2id) through the edge", f"{edge_url}/v1/auth/login", script,
                   connections=8)


def bench_follow(edge_url: str, accounts: list[dict[str, str]]) -> wrk.Result:
    rng = random.Random(7)
    pairs = []
    for a in accounts:
        for b in rng.sample(accounts, 20):
            if a["id"] != b["id"]:
                pairs.append(f'{{"{a["id"]}", "{a["token"]}", "{b["id"]}"}}')
    script = f"""
local pairs = {{ {", ".join(pairs)} }}
local i = 0
request = function()
  i = i + 1
  local p = pairs[(i % #pairs) + 1]
  return wrk.format("POST", "/v1/users/" .. p[1] .. "/follow",
    {{["Authorization"] = "Bearer " .. p[2], ["Content-Type"] = "application/json"}},
    '{{"targetUserId":"' .. p[3] .. '"}}')
end
"""
    return wrk.run("follow through the edge", edge_url, script, connections=16)


def _load_followers(dsn: str) -> int:
    """Creates the celebrity and 1,000,000 followers with COPY (once)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT user_id FROM users WHERE username = %s",
                           (CELEBRITY,)).fetchone()
        if row:
            return int(row[0])
        base = 9_000_000_000_000_000_000 // 10  # an id range no real user gets for years
        celebrity = base
        with conn.transaction():
            with conn.cursor().copy(
                    "COPY users (user_id, username, email, password_hash, display_name,"
                    " follower_count) FROM STDIN") as copy:
                copy.write_row((celebrity, CELEBRITY, f"{CELEBRITY}@bench.example", "!",
                                CELEBRITY, FOLLOWERS))
                for i in range(1, FOLLOWERS + 1):
                    copy.write_row((base + i, f"bf{i}", f"bf{i}@bench.example", "!", "f", 0))
            with conn.cursor().copy(
                    "COPY follows (follower_id, followee_id) FROM STDIN") as copy:
                for i in range(1, FOLLOWERS + 1):
                    copy.write_row((base + i, celebrity))
        conn.execute("VACUUM ANALYZE follows")
        conn.execute("VACUUM ANALYZE users")
        return celebrity


async def bench_follower_ids(users_addr: str, celebrity: int) -> tuple[float, int, list[float]]:
    channel = internal_channel(users_addr, AuthSettings().internal_token.get_secret_value())
    stub = users_pb2_grpc.UserServiceStub(channel)
    token, total, pages = "", 0, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        page = await stub.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
            user_id=celebrity, page_size=10_000, page_token=token), timeout=30)
        pages.append((time.perf_counter() - t0) * 1000)
        total += len(page.follower_ids)
        token = page.next_page_token
        if not token:
            break
    elapsed = time.perf_counter() - started
    await channel.close()
    return elapsed, total, pages


def run(env: dict[str, str]) -> list[str]:
    edge_url = env["EDGE_URL"]
    lines = []
    bench_users = asyncio.run(accounts(edge_url, "bench_", 100))
    lines.append(bench_login(edge_url).line())
    lines.append(bench_follow(edge_url, bench_users).line())
    t0 = time.perf_counter()
    celebrity = _load_followers(env["PG_DSN"])
    load_s = time.perf_counter() - t0
    elapsed, total, pages = asyncio.run(bench_follower_ids(env["USERS_ADDR"], celebrity))
    pages.sort()
    lines.append(
        f"{'page all follower ids (10k per page)':<42} {total:,} ids in {elapsed:.2f} s"
        f" ({total / elapsed:,.0f} ids/s; page p50 {pages[len(pages) // 2]:.1f} ms,"
        f" p99 {pages[int(len(pages) * 0.99) - 1]:.1f} ms; COPY load {load_s:.1f} s)")
    return lines
