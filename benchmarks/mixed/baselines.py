"""Each layer's cost under the home timeline read, closed-loop at 16 in flight
(the most each layer can do, to set against the mixed workload's saturation):

1. raw Redis: the page query the timeline store runs (ZREVRANGEBYSCORE of a
   home timeline), redis-benchmark;
2. GetHomeTimeline as gRPC straight to the timeline service (ghz);
3. the same read through the edge (wrk): Envoy, JWT, transcoding;
4. Envoy alone in front of a trivial gRPC method: GET /.well-known/jwks.json,
   users' GetJwks answered from memory (wrk).
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import redis as redis_lib

from benchmarks import wrk
from benchmarks.edge_bench import DESCRIPTOR, ensure_ghz
from services.shared.stores.redis_client import CLUSTER_SCHEME, is_cluster_url
from services.timeline.store import home_key

SECONDS = 8
IN_FLIGHT = 16


def redis_port(url: str, key: str) -> int:
    """The port of the Redis that holds `key`: on a cluster, its slot's primary."""
    client = redis_lib.Redis.from_url(url) if not is_cluster_url(url) else \
        redis_lib.RedisCluster.from_url("redis://" + url.removeprefix(CLUSTER_SCHEME).split(",")[0])
    try:
        if isinstance(client, redis_lib.RedisCluster):
            return int(client.get_node_from_key(key).port)  # type: ignore[no-untyped-call]
        return int(client.connection_pool.connection_kwargs["port"])
    finally:
        client.close()


def redis(url: str, user_id: int) -> wrk.Result:
    key = home_key(user_id)
    command = ["ZREVRANGEBYSCORE", key, "+inf", "-inf", "LIMIT", "0", "25"]
    port = str(redis_port(url, key))
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", port, "-c", str(IN_FLIGHT),
                          "-n", "100000", "--csv", *command],
                         check=True, capture_output=True, text=True).stdout
    row = next(csv.DictReader(io.StringIO(out)))
    rps = float(row["rps"])
    return wrk.Result("raw Redis: timeline page query (redis-benchmark)", int(rps * 10), 10.0,
                      0, float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))


def grpc_direct(cache_dir: Path, timeline_addr: str, user_id: int, token: str) -> wrk.Result:
    ghz = ensure_ghz(cache_dir)
    out = subprocess.run(
        [str(ghz), "--insecure", "--protoset", str(DESCRIPTOR),
         "--call", "twitter.timeline.v1.TimelineService.GetHomeTimeline",
         "-d", json.dumps({"user_id": str(user_id), "page_size": 20}),
         "-m", json.dumps({"authorization": f"Bearer {token}"}),
         "-c", str(IN_FLIGHT), "-z", f"{SECONDS}s", "--format", "json", timeline_addr],
        check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    latency = {d["percentage"]: d["latency"] / 1e6 for d in report["latencyDistribution"]}
    # ghz cuts the calls in flight when the duration ends; those are not errors.
    errors = sum(n for message, n in (report.get("errorDistribution") or {}).items()
                 if "closed network connection" not in message and "Canceled" not in message)
    return wrk.Result("GetHomeTimeline as gRPC to timeline (ghz)", report["count"],
                      report["total"] / 1e9, errors, latency[50], latency[99])


def edge_home(edge: str, user_id: int, token: str) -> wrk.Result:
    script = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    return wrk.run("GetHomeTimeline through the edge (wrk)",
                   f"{edge}/v1/timeline/{user_id}?pageSize=20", script, seconds=SECONDS,
                   connections=IN_FLIGHT)


def envoy_trivial(edge: str) -> wrk.Result:
    return wrk.run("Envoy + trivial gRPC (GetJwks, wrk)", f"{edge}/.well-known/jwks.json", "",
                   seconds=SECONDS, connections=IN_FLIGHT)
