"""The edge's cost: the same read RPC (UserService.GetUser) as REST through
Envoy (wrk: JWT check, Lua filters, rate-limit call, JSON transcoding) and as
gRPC straight to the users service (ghz), in one run, same concurrency.

ghz is built once with `go install` at a pinned version into the shared cache.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

from benchmarks import wrk
from benchmarks.accounts import account
from stack import topology

GHZ_VERSION = "v0.120.0"
SECONDS = 10
CONNECTIONS = 16  # wrk connections to the edge; ghz workers on one HTTP/2 connection
DESCRIPTOR = topology.REPO / "generated" / "descriptors" / "twitter.pb"


def ensure_ghz(cache_dir: Path) -> Path:
    target = cache_dir / "bin" / f"ghz-{GHZ_VERSION}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        subprocess.run(["go", "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"],
                       check=True, env=os.environ | {"GOBIN": gobin,
                                                     "GOFLAGS": "-buildvcs=false"})
        shutil.move(str(Path(gobin) / "ghz"), target)
    return target


async def _account(edge_url: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as http:
        user = await account(http, "bench_edge")
        return user["id"], user["token"]


def bench_rest(edge_url: str, user_id: str, token: str) -> wrk.Result:
    script = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    return wrk.run("GetUser as REST through the edge (wrk)", f"{edge_url}/v1/users/{user_id}",
                   script, seconds=SECONDS, connections=CONNECTIONS)


def bench_grpc(ghz: Path, users_addr: str, user_id: str, token: str) -> wrk.Result:
    out = subprocess.run(
        [str(ghz), "--insecure", "--protoset", str(DESCRIPTOR),
         "--call", "twitter.users.v1.UserService.GetUser",
         "-d", json.dumps({"user_id": user_id}),
         "-m", json.dumps({"authorization": f"Bearer {token}"}),
         "-c", str(CONNECTIONS), "-z", f"{SECONDS}s", "--format", "json", users_addr],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    latency = {d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"]}
    # ghz cuts the calls in flight when the duration ends; those are not errors.
    errors = sum(n for message, n in (report.get("errorDistribution") or {}).items()
                 if "use of closed network connection" not in message
                 and "Canceled" not in message)
    return wrk.Result("GetUser as gRPC to the service (ghz)", report["count"],
                      report["total"] / 1e9, errors, latency[50], latency[99])


def run(env: dict[str, str]) -> list[str]:
    settings = topology.load()
    ghz = ensure_ghz(settings.cache_dir)
    user_id, token = asyncio.run(_account(env["EDGE_URL"]))
    rest = bench_rest(env["EDGE_URL"], user_id, token)
    direct = bench_grpc(ghz, env["USERS_ADDR"], user_id, token)
    return [
        rest.line(),
        direct.line(),
        f"{'edge overhead (gRPC / REST)':<42} throughput x{direct.rps / rest.rps:.2f}"
        f"   p50 +{rest.p50_ms - direct.p50_ms:.2f} ms (x{rest.p50_ms / direct.p50_ms:.2f})"
        f"   p99 +{rest.p99_ms - direct.p99_ms:.2f} ms (x{rest.p99_ms / direct.p99_ms:.2f})",
    ]
