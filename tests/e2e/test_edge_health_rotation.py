"""The edge's active health checks, live (edge/render.py HEALTH_CHECK): a
process that stops answering is taken out of rotation, its requests go to the
other process, and it is brought back once it answers again. The process is
frozen with SIGSTOP: its port still accepts connections (the kernel does), so
only the health check, not a connect failure, can tell."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from stack import topology
from tests.support.stack_control import control, processes, wait_serving
from tests.support.users import new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def host_status(port: int) -> tuple[bool, int]:
    """The tweets process on `port` as the edge sees it: healthy, requests sent."""
    admin = topology.load().ports["ENVOY_ADMIN_PORT"]
    async with httpx.AsyncClient() as client:
        clusters = (await client.get(f"http://127.0.0.1:{admin}/clusters",
                                     params={"format": "json"})).json()
    for cluster in clusters["cluster_statuses"]:
        if cluster["name"] != "tweets":
            continue
        for host in cluster["host_statuses"]:
            if host["address"]["socket_address"]["port_value"] == port:
                status: dict[str, Any] = host["health_status"]
                stats = {s["name"]: int(s.get("value", 0)) for s in host["stats"]}
                return not status.get("failed_active_health_check", False), stats["rq_total"]
    raise AssertionError(f"no tweets host on port {port}")


async def test_a_frozen_process_leaves_rotation_and_comes_back(
        edge: httpx.AsyncClient) -> None:
    settings = topology.load()
    ports = topology.process_ports(settings.service_port("tweets"), settings.processes["tweets"])
    if len(ports) < 2:
        pytest.skip("the stack runs one tweets process")
    frozen_port, frozen = ports[1], processes("tweets")[1]
    user = await new_user(edge)
    posted = await edge.post("/v1/tweets", json={"content": "rotation"}, headers=user["headers"])
    tweet = f"/v1/tweets/{posted.json()['tweet']['tweetId']}"

    async def healthy(want: bool) -> bool:
        return (await host_status(frozen_port))[0] is want

    await control("signal", "STOP", frozen)
    try:
        await eventually(lambda: healthy(False), within=10,
                         what="the frozen process out of rotation")
        sent_before = (await host_status(frozen_port))[1]
        reads = [await edge.get(tweet, headers=user["headers"]) for _ in range(20)]
        assert [r.status_code for r in reads] == [200] * 20
        assert (await host_status(frozen_port))[1] == sent_before  # none went to it
    finally:
        await control("signal", "CONT", frozen)
    await eventually(lambda: healthy(True), within=10, what="the process back in rotation")

    async def served_again() -> bool:
        before = (await host_status(frozen_port))[1]
        assert (await edge.get(tweet, headers=user["headers"])).status_code == 200
        return (await host_status(frozen_port))[1] > before

    await eventually(served_again, within=10, what="requests reaching the process again")
    await wait_serving("tweets")
