"""What the edge costs (issue 21), in one run, wrk with 16 connections:

1. Envoy alone: GET /healthz, answered by Envoy itself;
2. a trivial transcoded read through the full filter chain: GET
   /.well-known/jwks.json (users' GetJwks, from memory), reads meeting only
   Envoy's local per-address limiter;
3. the same read with the global limiter consulted on every read, as the edge
   did before (the rendered config plus the old per-read descriptor, in a
   second Envoy started here);
4. the same RPC as gRPC straight to the users service (ghz): the Python
   upstream's own ceiling;
5. each filter's cost on a route Envoy answers itself (a direct response behind
   the whole chain, with a bearer token and an Origin header so every filter
   works): the chain without one filter at a time, in Envoys started here.

ghz is built once with `go install` at a pinned version into the shared cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from benchmarks import gotools, wrk
from benchmarks.accounts import account
from edge import render
from stack import topology

GHZ_VERSION = "v0.120.0"
SECONDS = 5
CONNECTIONS = 16  # wrk connections to the edge; ghz workers on one HTTP/2 connection
DESCRIPTOR = topology.REPO / "generated" / "descriptors" / "twitter.pb"
ENVOY = topology.VENV_BIN / "envoy"
JWKS = "/.well-known/jwks.json"
DIRECT = "/bench/direct"  # the variant Envoys' trivial route

Config = dict[str, Any]


def ensure_ghz(cache_dir: Path) -> Path:
    return gotools.ensure(cache_dir, "github.com/bojand/ghz/cmd/ghz", GHZ_VERSION)


def bench_grpc(ghz: Path, users_addr: str) -> wrk.Result:
    out = subprocess.run(
        [str(ghz), "--insecure", "--protoset", str(DESCRIPTOR),
         "--call", "twitter.users.v1.AuthService.GetJwks", "-d", "{}",
         "-c", str(CONNECTIONS), "-z", f"{SECONDS}s", "--format", "json", users_addr],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    latency = {d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"]}
    # ghz cuts the calls in flight when the duration ends; those are not errors.
    errors = sum(n for message, n in (report.get("errorDistribution") or {}).items()
                 if "use of closed network connection" not in message
                 and "Canceled" not in message)
    return wrk.Result("GetJwks as gRPC to users (ghz)", report["count"],
                      report["total"] / 1e9, errors, latency[50], latency[99])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _hcm(config: Config) -> Config:
    hcm: Config = (config["static_resources"]["listeners"][0]["filter_chains"][0]
                   ["filters"][0]["typed_config"])
    return hcm


def _variant(env: dict[str, str], edit: Callable[[Config], None],
             jwks: str) -> tuple[Config, int]:
    port = _free_port()
    config = render.render(render.options_from_env(
        env, port=port, admin_port=_free_port(), access_log="/dev/null"))
    hcm = _hcm(config)
    # The keys inline, so that a variant without the transcoder (which serves
    # the JWKS) still verifies tokens.
    for f in hcm["http_filters"]:
        if f["name"] == "envoy.filters.http.jwt_authn":
            provider = f["typed_config"]["providers"]["users"]
            del provider["remote_jwks"]
            provider["local_jwks"] = {"inline_string": jwks}
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routes.insert(0, {"match": {"path": DIRECT}, "direct_response": {
        "status": 200, "body": {"inline_string": '{"ok":true}'}}})
    edit(config)
    return config, port


@contextlib.contextmanager
def envoy(config: Config, port: int) -> Iterator[str]:
    """A second Envoy with `config`, stopped (by its pid) on exit: its URL."""
    with envoy_process(config, port) as (url, _):
        yield url


@contextlib.contextmanager
def envoy_process(config: Config, port: int, *args: str) -> Iterator[tuple[str, int]]:
    """A second Envoy with `config` (and command-line `args`), stopped (by its
    pid) on exit: its URL and pid."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "envoy.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        proc = subprocess.Popen([str(ENVOY), "-c", str(path), "--disable-hot-restart",
                                 "--log-level", "error", *args], cwd=topology.REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the benchmark's Envoy did not start")
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def global_reads(config: Config) -> None:
    """Before issue 21: every routed request asked the ratelimit service."""
    vhost = _hcm(config)["route_config"]["virtual_hosts"][0]
    vhost["rate_limits"] = [{"actions": [{"remote_address": {}}]}]


def without(*names: str) -> Callable[[Config], None]:
    def edit(config: Config) -> None:
        hcm = _hcm(config)
        hcm["http_filters"] = [f for f in hcm["http_filters"]
                               if not any(f["name"].startswith(n) for n in names)]
    return edit


def unwrapped(config: Config) -> None:
    """The Lua filters run on every request, as before issue 21."""
    hcm = _hcm(config)
    hcm["http_filters"] = [f["typed_config"].get("extension_config", f)
                           for f in hcm["http_filters"]]


def only_router(config: Config) -> None:
    hcm = _hcm(config)
    hcm["http_filters"] = hcm["http_filters"][-1:]


FILTERS: list[tuple[str, Callable[[Config], None]]] = [
    ("CORS (Lua)", without("lua.cors")),
    ("local rate limit", without("envoy.filters.http.local_ratelimit")),
    ("jwt_authn", without("envoy.filters.http.jwt_authn")),
    ("other Lua (strict JSON, keys, status)", without(
        "lua.json_keys", "lua.rpc_checks", "lua.grpc_status")),
    ("transcoder", without("envoy.filters.http.grpc_json_transcoder")),
    ("buffer", without("envoy.filters.http.buffer")),
]


def _us(r: wrk.Result) -> float:
    return 1e6 / r.rps


def run(env: dict[str, str]) -> list[str]:
    settings = topology.load()
    ghz = ensure_ghz(settings.cache_dir)
    edge = env["EDGE_URL"]

    async def login() -> str:
        async with httpx.AsyncClient(base_url=edge, timeout=30) as http:
            return (await account(http, "bench_edge"))["token"]

    token = asyncio.run(login())
    lines: list[str] = []

    def measure(name: str, url: str, script: str = "") -> wrk.Result:
        result = wrk.run(name, url, script, seconds=SECONDS, connections=CONNECTIONS)
        lines.append(result.line())
        return result

    alone = measure("Envoy alone: GET /healthz", f"{edge}/healthz")
    chain = measure("JWKS read, full chain, local limiter", f"{edge}{JWKS}")
    jwks = httpx.get(f"{edge}{JWKS}").text
    config, port = _variant(env, global_reads, jwks)
    with envoy(config, port) as url:
        before = measure("JWKS read, + global limiter per read", f"{url}{JWKS}")
    direct = bench_grpc(ghz, env["USERS_ADDR"])
    lines.append(direct.line())
    lines += [
        f"{'full chain / Envoy alone':<42} x{chain.rps / alone.rps:.2f} req/s"
        f"   p99 x{chain.p99_ms / alone.p99_ms:.1f}",
        f"{'full chain / with global limiter':<42} x{chain.rps / before.rps:.2f} req/s"
        f"   p99 x{chain.p99_ms / before.p99_ms:.2f}",
        f"{'full chain / users gRPC direct':<42} x{chain.rps / direct.rps:.2f} req/s",
        "",
        f"filters on an Envoy-answered route ({DIRECT}, bearer token, Origin):",
    ]
    script = (f'wrk.headers["Authorization"] = "Bearer {token}"\n'
              'wrk.headers["Origin"] = "https://app.example.com"\n')
    results: dict[str, wrk.Result] = {}
    variants: list[tuple[str, Callable[[Config], None]]] = [
        ("router only", only_router), ("full chain", lambda c: None),
        ("full chain, Lua on every request (before)", unwrapped),
        *((f"without {name}", edit) for name, edit in FILTERS)]
    for name, edit in variants:
        config, port = _variant(env, edit, jwks)
        with envoy(config, port) as url:
            # The best of two runs: other work on the machine only ever slows one.
            runs = [wrk.run(name, f"{url}{DIRECT}", script, seconds=SECONDS,
                            connections=CONNECTIONS) for _ in range(2)]
            results[name] = max(runs, key=lambda r: r.rps)
            lines.append(results[name].line())
    full = results["full chain"]
    lines.append(f"{'full chain / router only':<42} x{full.rps / results['router only'].rps:.2f}")
    for name, _ in FILTERS:
        cost = _us(full) - _us(results[f"without {name}"])
        lines.append(f"{'cost of ' + name:<42} {cost:>6.1f} us/request (both cores)")
    return lines
