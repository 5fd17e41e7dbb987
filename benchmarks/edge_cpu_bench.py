"""Envoy's CPU per request on the pages clients read most (BENCH=edge_cpu,
issue 36): a home timeline and a user's tweets, 20 tweets a page, through the
full edge, with wrk (4 connections, each pausing DELAY_MS between requests).
The CPU is Envoy's own, from the on-CPU nanoseconds of its threads
(/proc/<pid>/task/*/schedstat), finer than the clock ticks of /proc/<pid>/stat.

First the stack's own Envoy, as deployed; then Envoys started here, each with
the rendered configuration changed in one way (the edge benchmark's method,
benchmarks/edge_bench.py), loaded side by side with an unchanged one, so each
part of the chain shows its cost on these routes as a ratio.

Envoy's CPU per request falls as its request rate rises (more events per
wakeup), so variants are compared at one rate (the pause), never across runs
at different rates; and on a machine shared with other stacks a ratio moves by
+-10 % from run to run: read only larger differences."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks import edge_bench, wrk
from benchmarks.accounts import account
from edge import render
from stack import topology
from stack.supervisor import Supervisor

SECONDS = 5
CONNECTIONS = 4
ROUNDS = 3
DELAY_MS = 25
PAGE = 20
Config = dict[str, object]


def envoy_cpu_ns(pid: int) -> int:
    """On-CPU nanoseconds of every thread of `pid` so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError):
            continue  # a thread that just ended
    return total


async def _pages(edge: str) -> tuple[str, list[str]]:
    """A reader's token and the two page paths: the home of a reader who
    follows an author with at least a page of tweets, and that author's tweets."""
    async with httpx.AsyncClient(base_url=edge, timeout=60) as http:
        author = await account(http, "bench_ecpu_a")
        reader = await account(http, "bench_ecpu_r")
        as_author = {"Authorization": f"Bearer {author['token']}"}
        as_reader = {"Authorization": f"Bearer {reader['token']}"}
        r = await http.post(f"/v1/users/{reader['id']}/follow", headers=as_reader,
                            json={"targetUserId": author["id"]})
        if r.status_code not in (200, 409):
            r.raise_for_status()
        tweets = f"/v1/users/{author['id']}/tweets?pageSize={PAGE}"
        home = f"/v1/timeline/{reader['id']}?pageSize={PAGE}"
        have = len((await http.get(tweets, headers=as_reader)).json().get("tweets", []))
        for n in range(have, PAGE):
            r = await http.post("/v1/tweets", headers=as_author,
                                json={"content": f"edge cpu bench {n} with a few words"})
            r.raise_for_status()
        for _ in range(200):  # fanout is asynchronous
            if len((await http.get(home, headers=as_reader)).json().get("entries", [])) >= PAGE:
                break
            await asyncio.sleep(0.1)
        return reader["token"], [home, tweets]


def cpu_per_request(pids: list[int], urls: list[str], token: str
                    ) -> list[tuple[float, wrk.Result]]:
    """Each Envoy's CPU milliseconds per request of a wrk run on its URL, the
    runs side by side so that both meet the same load from the rest of the
    machine (the best of ROUNDS rounds: other work only ever adds to one)."""
    # Every connection waits DELAY_MS between requests: each Envoy serves
    # the same rate, so none does less work per request by batching more.
    script = (f'wrk.headers["Authorization"] = "Bearer {token}"\n'
              f"delay = function() return {DELAY_MS} end\n")
    best: list[tuple[float, wrk.Result]] = []
    for _ in range(ROUNDS):
        before = [envoy_cpu_ns(pid) for pid in pids]
        with ThreadPoolExecutor(len(urls)) as pool:
            results = list(pool.map(lambda url: wrk.run(
                url, url, script, seconds=SECONDS, connections=CONNECTIONS), urls))
        for n, (pid, result) in enumerate(zip(pids, results, strict=True)):
            if result.errors:
                raise RuntimeError(f"{result.name}: {result.errors} errors")
            ms = (envoy_cpu_ns(pid) - before[n]) / 1e6 / max(result.requests, 1)
            if len(best) <= n:
                best.append((ms, result))
            elif ms < best[n][0]:
                best[n] = (ms, result)
    return best


def _hcm(config: Config) -> dict[str, object]:
    return edge_bench._hcm(config)


def without_filters(*names: str) -> Callable[[Config], None]:
    return edge_bench.without(*names)


def without_access_log(config: Config) -> None:
    _hcm(config).pop("access_log")


def without_tracing(config: Config) -> None:
    _hcm(config).pop("tracing", None)


def without_log_and_tracing(config: Config) -> None:
    without_access_log(config)
    without_tracing(config)


VARIANTS: list[tuple[str, Callable[[Config], None]]] = [
    ("without log and tracing", without_log_and_tracing),
    ("without matcher-wrapped filters", without_filters(
        "lua.", "envoy.filters.http.header_mutation")),
    ("without the access log", without_access_log),
    ("without tracing", without_tracing),
    ("without local rate limit", without_filters("envoy.filters.http.local_ratelimit")),
    ("without buffer", without_filters("envoy.filters.http.buffer")),
]


def _config(env: dict[str, str], edit: Callable[[Config], None], log: Path
            ) -> tuple[Config, int]:
    port = edge_bench._free_port()
    config = render.render(render.options_from_env(
        env, port=port, admin_port=edge_bench._free_port(), access_log=str(log),
        trace_sampling_percent=float(env.get("EDGE_TRACE_SAMPLING_PERCENT", "1"))))
    edit(config)
    return config, port


def run(env: dict[str, str]) -> list[str]:
    token, paths = asyncio.run(_pages(env["EDGE_URL"]))
    names = ["home page of 20", "user tweets, page of 20"]
    pid = Supervisor(topology.load()).processes()[topology.EDGE].pid
    assert pid, "the stack's Envoy is not running"
    lines: list[str] = []
    line = lines.append

    for name, path in zip(names, paths, strict=True):
        ((ms, result),) = cpu_per_request([pid], [f"{env['EDGE_URL']}{path}"], token)
        line(f"{'stack Envoy: ' + name:<58} {ms:>6.3f} ms Envoy CPU per request"
             f"   ({result.rps:.0f} req/s)")
    with tempfile.TemporaryDirectory() as tmp:
        config, port = _config(env, lambda c: None, Path(tmp) / "base.log")
        with edge_bench.envoy_process(config, port) as (base_url, base_pid):
            for label, edit in VARIANTS:
                config, port = _config(env, edit, Path(tmp) / "variant.log")
                with edge_bench.envoy_process(config, port) as (url, envoy_pid):
                    for name, path in zip(names, paths, strict=True):
                        (base, _), (ms, result) = cpu_per_request(
                            [base_pid, envoy_pid], [f"{base_url}{path}", f"{url}{path}"], token)
                        line(f"{label + ': ' + name:<58} {ms:>6.3f} ms Envoy CPU per request"
                             f"   x{ms / base:.2f} of as rendered beside it")
    return lines
