"""Messages benchmark: SendMessage through the edge with wrk (each request a
random sender and recipient among 40 users), then listing conversations."""

from __future__ import annotations

import asyncio
import random

from benchmarks import wrk
from benchmarks.accounts import accounts as make_accounts

USERS = 40


def bench_send(edge_url: str, accounts: list[dict[str, str]], connections: int) -> wrk.Result:
    rng = random.Random(11)
    pairs = []
    for _ in range(2000):
        a, b = rng.sample(accounts, 2)
        pairs.append(f'{{"{a["token"]}", "{b["id"]}"}}')
    script = f"""
local pairs = {{ {", ".join(pairs)} }}
local i = 0
request = function()
  i = i + 1
  local p = pairs[(i % #pairs) + 1]
  return wrk.format("POST", "/v1/messages",
    {{["Authorization"] = "Bearer " .. p[1], ["Content-Type"] = "application/json"}},
    '{{"recipientUserId":"' .. p[2] .. '","content":"benchmark message number ' .. i .. '"}}')
end
"""
    return wrk.run(f"send message through the edge ({connections} conn)", edge_url, script,
                   connections=connections)


def bench_conversations(edge_url: str, accounts: list[dict[str, str]]) -> wrk.Result:
    script = wrk.rotating([a["token"] for a in accounts], """
  return wrk.format("GET", "/v1/conversations?pageSize=20", {["Authorization"] = bearer})""")
    return wrk.run("list conversations (20) through the edge", edge_url, script,
                   connections=8)


def run(env: dict[str, str]) -> list[str]:
    edge_url = env["EDGE_URL"]
    accounts = asyncio.run(make_accounts(edge_url, "dmbench_", USERS))
    return [bench_send(edge_url, accounts, 2).line(), bench_send(edge_url, accounts, 16).line(),
            bench_conversations(edge_url, accounts).line()]
