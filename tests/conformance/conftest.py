"""The conformance suite: each service checked by address, through its gRPC
contract only (never its stores), so any implementation, in any language, can
prove itself:

    CONFORMANCE_TARGET=users=127.0.0.1:17101,tweets=10.0.0.7:9000 \\
        .venv/bin/python -m pytest tests/conformance

A service not named in CONFORMANCE_TARGET is the local stack's (its <NAME>_ADDR).
Calls that need a user come with one signed up through the users target;
internal RPCs present INTERNAL_TOKEN (the stack's when unset).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import grpc
import pytest
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.ports import SERVICE_PORTS
from tests.support.conformance import PASSWORD, Channels, NewUser, User, parse_targets, unique


@pytest.fixture(scope="session")
def targets(stack_env: dict[str, str]) -> dict[str, str]:
    defaults = {s: stack_env[f"{s.upper()}_ADDR"] for s in SERVICE_PORTS}
    return defaults | parse_targets(os.environ.get("CONFORMANCE_TARGET", ""))


@pytest.fixture(scope="session")
def internal_token(stack_env: dict[str, str]) -> str:
    return os.environ.get("INTERNAL_TOKEN") or stack_env["INTERNAL_TOKEN"]


@pytest.fixture(scope="session")
async def channel(targets: dict[str, str]) -> AsyncIterator[Channels]:
    """A plain channel per target: no token, no retries, as a foreign client."""
    opened: dict[str, grpc.aio.Channel] = {}

    def get(service: str) -> grpc.aio.Channel:
        if service not in opened:
            opened[service] = grpc.aio.insecure_channel(targets[service])
        return opened[service]

    yield get
    for ch in opened.values():
        await ch.close()


@pytest.fixture(scope="session")
def new_user(channel: Channels) -> NewUser:
    """Signs up and logs in a fresh user through the users target."""
    users = users_pb2_grpc.UserServiceStub(channel("users"))
    auth = users_pb2_grpc.AuthServiceStub(channel("users"))

    async def make() -> User:
        name = unique("cf")
        created = await users.CreateUser(users_pb2.CreateUserRequest(
            username=name, email=f"{name}@example.com", password=PASSWORD))
        login = await auth.Login(users_pb2.LoginRequest(username=name, password=PASSWORD))
        return User(created.user.user_id, name, login.access_token)

    return make
