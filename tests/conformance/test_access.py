"""Every RPC of every target enforces the access its contract declares
(`twitter.api.v1.access`): a USER RPC refuses a call without a valid token
(UNAUTHENTICATED) and an INTERNAL RPC one without the internal token
(PERMISSION_DENIED), before it looks at the request."""

from __future__ import annotations

import importlib
from pathlib import Path

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from services.shared.contracts import Access, method_access
from services.shared.ports import SERVICE_PORTS
from tests.support.conformance import Channels

# Our services (ratelimit serves Envoy's contract; test_ratelimit.py checks it).
AREAS = [s for s in SERVICE_PORTS if s != "ratelimit"]


def _methods(access: Access) -> list[tuple[str, ServiceDescriptor, MethodDescriptor]]:
    found = []
    for area in AREAS:
        package = importlib.import_module(f"twitter.{area}.v1")
        # Every contract file of the area that declares a service (users: lists.proto too).
        modules = [importlib.import_module(f"twitter.{area}.v1.{path.stem}")
                   for path in sorted(Path(*package.__path__).glob("*_pb2.py"))]
        for service in (s for m in modules for s in m.DESCRIPTOR.services_by_name.values()):
            found += [(area, service, m) for m in service.methods
                      if method_access(service, m) is access]
    return found


def _id(case: tuple[str, ServiceDescriptor, MethodDescriptor]) -> str:
    return f"{case[1].name}.{case[2].name}"


async def _call(channel: grpc.aio.Channel, service: ServiceDescriptor,
                method: MethodDescriptor, metadata: tuple[tuple[str, str], ...]) -> None:
    """The method with an empty request, as any client would call it."""
    path = f"/{service.full_name}/{method.name}"
    request = message_factory.GetMessageClass(method.input_type)()
    response = message_factory.GetMessageClass(method.output_type)
    if method.server_streaming:
        stream = channel.unary_stream(path, request_serializer=type(request).SerializeToString,
                                      response_deserializer=response.FromString)
        async for _ in stream(request, metadata=metadata, timeout=10):
            break
        return
    unary = channel.unary_unary(path, request_serializer=type(request).SerializeToString,
                                response_deserializer=response.FromString)
    await unary(request, metadata=metadata, timeout=10)


@pytest.mark.parametrize("case", _methods(Access.USER), ids=_id)
@pytest.mark.parametrize("metadata", [(), (("authorization", "Bearer not-a-token"),)],
                         ids=["no token", "bad token"])
async def test_user_rpcs_need_a_valid_token(
        channel: Channels, case: tuple[str, ServiceDescriptor, MethodDescriptor],
        metadata: tuple[tuple[str, str], ...]) -> None:
    area, service, method = case
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel(area), service, method, metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("case", _methods(Access.INTERNAL), ids=_id)
@pytest.mark.parametrize("metadata", [(), (("x-internal-token", "wrong"),)],
                         ids=["no token", "wrong token"])
async def test_internal_rpcs_need_the_internal_token(
        channel: Channels, case: tuple[str, ServiceDescriptor, MethodDescriptor],
        metadata: tuple[tuple[str, str], ...]) -> None:
    area, service, method = case
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel(area), service, method, metadata)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_every_service_has_rpcs_of_each_kind_checked() -> None:
    assert {a for a, _, _ in _methods(Access.USER)} == set(AREAS)
    assert {a for a, _, _ in _methods(Access.INTERNAL)} >= {"users", "tweets", "media"}
