"""Every gRPC status code of DESIGN through a second Envoy with the rendered edge
configuration, in front of a gRPC server that answers Login with the code the
test asks for. The users service never returns FAILED_PRECONDITION, so this is
where 412 is checked; test_edge.py checks the others with the real services.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health, health_pb2_grpc
from twitter.users.v1 import users_pb2_grpc

from edge import render
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DESIGN = {  # gRPC code: HTTP status
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
}


class Answers(users_pb2_grpc.AuthServiceServicer):
    """Login only; the other RPCs are never called here."""

    async def Login(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(grpc.StatusCode[request.username], f"as asked: {request.username}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def edge_in_front(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    server = grpc.aio.server()
    users_pb2_grpc.add_AuthServiceServicer_to_server(Answers(), server)  # type: ignore[abstract]
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    upstream = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    edge_port, admin_port = _free_port(), _free_port()
    env = {"USERS_ADDR": f"127.0.0.1:{upstream}"}
    config = render.render(render.options_from_env(
        env, port=edge_port, admin_port=admin_port, access_log=str(tmp_path / "access.log")))
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(config))
    envoy = subprocess.Popen(  # noqa: ASYNC220 - a long-running child, stopped below
        [str(REPO / ".venv/bin/envoy"), "-c", str(path), "--disable-hot-restart",
         "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{edge_port}",
                                     timeout=10) as client:

            async def serving() -> bool:
                return (await client.get("/healthz")).status_code == 200
            await eventually(serving, within=10, every=0.1, what="the second Envoy serving",
                             ignoring=(httpx.TransportError,))
            yield client
    finally:
        envoy.terminate()
        envoy.wait(10)
        await server.stop(0)


async def test_every_design_code_maps_to_its_http_status(
        edge_in_front: httpx.AsyncClient) -> None:
    for code, status in DESIGN.items():
        response = await edge_in_front.post("/v1/auth/login",
                                            json={"username": code.name, "password": "x"})
        assert response.status_code == status, (code, response.text)
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body == {"code": code.value[0], "status": code.name,
                        "message": f"as asked: {code.name}", "details": []}
