"""Helpers of the conformance suite (tests/conformance): targets, users, and
reading a status the way any gRPC client can (code, google.rpc details)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.shared.ports import SERVICE_PORTS

PASSWORD = "correct horse battery"


def parse_targets(raw: str) -> dict[str, str]:
    """`users=host:port,tweets=host:port` as {service: address}."""
    targets: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        service, sep, address = item.partition("=")
        if not sep or service not in SERVICE_PORTS or ":" not in address:
            raise pytest.UsageError(f"CONFORMANCE_TARGET: {item!r} is not <service>=<host:port>"
                                    f" with a service among {sorted(SERVICE_PORTS)}")
        targets[service] = address
    return targets


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    token: str

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


NewUser = Callable[[], Awaitable[User]]
Channels = Callable[[str], grpc.aio.Channel]


def unique(prefix: str) -> str:
    """A fresh name of at most 15 characters (a valid username)."""
    return f"{prefix}{uuid.uuid4().hex[:15 - len(prefix)]}"


async def rejected(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error a call must end with."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def violations(error: grpc.aio.AioRpcError) -> set[str]:
    """The fields a google.rpc.BadRequest in the error's details names."""
    status = rpc_status.from_call(error)
    assert status is not None, f"{error.code()} without google.rpc.Status details"
    fields: set[str] = set()
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields |= {v.field for v in bad.field_violations}
    return fields
