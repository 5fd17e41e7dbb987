"""Live health probes, shared by `up` (readiness) and `status`.

Each probe talks the component's own protocol, returns a short detail on success and
raises on failure. Drivers are imported inside the probes so `stack env` stays fast.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from services.shared.ports import SERVICE_PORTS
from stack import topology

Probe = Callable[[Mapping[str, str], float], str]

# The drivers log every failed attempt; readiness polling expects failures.
for _noisy in ("cassandra", "nats", "botocore", "httpx"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)


def postgres(env: Mapping[str, str], timeout: float) -> str:
    import psycopg

    with psycopg.connect(env["PG_DSN"], connect_timeout=max(1, round(timeout))) as conn:
        conn.execute("SELECT 1")
    return "SELECT 1"


def redis(env: Mapping[str, str], timeout: float) -> str:
    import redis as redis_lib
    from redis.cluster import ClusterNode

    from services.shared.stores.redis_client import CLUSTER_SCHEME

    url = env["REDIS_URL"]
    if url.startswith(CLUSTER_SCHEME):
        seeds = [s.rpartition(":") for s in url.removeprefix(CLUSTER_SCHEME).split(",")]
        cluster = redis_lib.RedisCluster(
            startup_nodes=[ClusterNode(host, int(port))  # type: ignore[no-untyped-call]
                           for host, _, port in seeds],
            socket_timeout=timeout, socket_connect_timeout=timeout)
        with cluster:
            info = cluster.cluster_info()
            if info["cluster_state"] != "ok":
                raise RuntimeError(f"cluster state {info['cluster_state']}")
            cluster.ping(target_nodes=redis_lib.RedisCluster.ALL_NODES)
            primaries = len(cluster.get_primaries())  # type: ignore[no-untyped-call]
        return f"cluster ok, {primaries} primaries answer PING"
    client = redis_lib.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    with client:
        client.ping()
    return "PING"


def redis_node(port: int, timeout: float) -> str:
    """One node of the local cluster, before its slots are assigned."""
    import redis as redis_lib

    with redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                         socket_connect_timeout=timeout) as client:
        client.ping()
    return "PING"


def nats(env: Mapping[str, str], timeout: float) -> str:
    import nats as nats_lib

    async def check() -> str:
        async def quiet(_: Exception) -> None:
            pass

        from services.shared.messaging.events import servers

        nc = await nats_lib.connect(
            servers(env["NATS_URL"]), connect_timeout=max(1, round(timeout)), allow_reconnect=False,
            max_reconnect_attempts=0, error_cb=quiet,
        )  # fmt: skip
        try:
            info = await nc.jetstream(timeout=timeout).account_info()
        finally:
            await nc.close()
        return f"JetStream, {info.streams} streams"

    try:
        # nats-py can keep retrying a refused connection despite allow_reconnect=False.
        return asyncio.run(asyncio.wait_for(check(), timeout))
    except TimeoutError:
        raise RuntimeError(f"no JetStream answer from {env['NATS_URL']} in {timeout}s") from None


@contextmanager
def cql_session(env: Mapping[str, str], timeout: float) -> Iterator[Any]:
    from cassandra.cluster import Cluster

    cluster = Cluster(
        [h.strip() for h in env["SCYLLA_HOSTS"].split(",")],
        port=int(env["SCYLLA_PORT"]),
        connect_timeout=timeout,
        control_connection_timeout=timeout,
    )
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def cassandra(env: Mapping[str, str], timeout: float) -> str:
    with cql_session(env, timeout) as session:
        row = session.execute("SELECT release_version FROM system.local", timeout=timeout).one()
    return f"release {row.release_version}"


def s3_client(env: Mapping[str, str], timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        aws_access_key_id=env["S3_ACCESS_KEY"],
        aws_secret_access_key=env["S3_SECRET_KEY"],
        region_name=env["S3_REGION"],
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )


def minio(env: Mapping[str, str], timeout: float) -> str:
    buckets = s3_client(env, timeout).list_buckets()["Buckets"]
    return f"{len(buckets)} buckets"


def grpc_health(addr: str, timeout: float) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError as exc:  # its str() is a multi-line debug dump
            raise RuntimeError(f"{exc.code().name}: {exc.details()}") from None
    status = str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
    if status != "SERVING":
        raise RuntimeError(f"health status {status}")
    return status


def edge(env: Mapping[str, str], timeout: float) -> str:
    url = f"{env['EDGE_URL']}/healthz"
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (our URL)
        if response.status != HTTPStatus.OK:
            raise RuntimeError(f"GET {url}: HTTP {response.status}")
    return "GET /healthz 200"


def meilisearch(env: Mapping[str, str], timeout: float) -> str:
    import httpx

    headers = {"Authorization": f"Bearer {env.get('MEILISEARCH_API_KEY', '')}"}
    with httpx.Client(base_url=env["MEILISEARCH_URL"], timeout=timeout, headers=headers) as c:
        health = c.get("/health").raise_for_status().json()["status"]
        version = c.get("/version").raise_for_status().json()["pkgVersion"]
    return f"Meilisearch {version}, {health}"


def jaeger(env: Mapping[str, str], timeout: float) -> str:
    import httpx

    services = httpx.get(f"{env['JAEGER_URL']}/api/services", timeout=timeout)
    return f"query API, {len(services.raise_for_status().json()['data'] or [])} services traced"


INFRA: dict[str, Probe] = {
    "postgres": postgres,
    "redis": redis,
    "nats": nats,
    "cassandra": cassandra,
    "minio": minio,
    "meilisearch": meilisearch,
    "jaeger": jaeger,
}


def worker(url: str, timeout: float) -> str:
    """A worker's readiness (services/shared/observability/probe_http.py): its consumers' health."""
    import httpx

    reply = httpx.get(url, timeout=timeout)
    if reply.status_code != httpx.codes.OK:
        raise RuntimeError(f"not ready: {reply.text}")
    return reply.text


def for_component(name: str) -> Probe | None:
    """The probe for an infrastructure component, the edge, a service or a worker."""
    if name.endswith("-worker") and topology.service_of(name) in SERVICE_PORTS:
        port = topology.load().service_port(topology.service_of(name)) \
            + topology.WORKER_METRICS_OFFSET
        return lambda _env, timeout: worker(f"http://127.0.0.1:{port}/readyz", timeout)
    if name in INFRA:
        return INFRA[name]
    if name == topology.EDGE:
        return edge
    if name in SERVICE_PORTS:
        return lambda env, timeout: grpc_health(env[topology.service_addr_var(name)], timeout)
    return None
