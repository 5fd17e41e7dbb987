"""Fixtures shared by every test: the running stack's addresses, gRPC stubs to
the real services, an HTTP client for the edge, and helpers that make users."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from stack import contract, topology
from tests.support.users import PASSWORD, Account, MakeAccount, unique_name

# Services and settings need a real internal token: the running stack's (which
# `make up` generated), or for tests that run without a stack a random one.
os.environ.setdefault("INTERNAL_TOKEN", contract.build(topology.load()).get(
    "INTERNAL_TOKEN") or secrets.token_urlsafe(32))


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """The environment contract of the running stack (what the services read)."""
    env = contract.build(topology.load())
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    return env


@pytest.fixture(scope="session")
def edge_url(stack_env: dict[str, str]) -> str:
    return stack_env["EDGE_URL"]


@pytest.fixture(scope="session")
async def edge(edge_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
async def users_channel(stack_env: dict[str, str]) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to the users service that presents the internal token."""
    channel = internal_channel(stack_env["USERS_ADDR"],
                               AuthSettings().internal_token.get_secret_value())
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def users(users_channel: grpc.aio.Channel) -> users_pb2_grpc.UserServiceAsyncStub:
    return users_pb2_grpc.UserServiceStub(users_channel)


@pytest.fixture(scope="session")
def auth_stub(users_channel: grpc.aio.Channel) -> users_pb2_grpc.AuthServiceAsyncStub:
    return users_pb2_grpc.AuthServiceStub(users_channel)


@pytest.fixture(scope="session")
def make_account(users: users_pb2_grpc.UserServiceAsyncStub,
                 auth_stub: users_pb2_grpc.AuthServiceAsyncStub) -> MakeAccount:
    """Signs up and logs in a fresh user through gRPC."""
    async def make(prefix: str = "u", display_name: str = "") -> Account:
        username = unique_name(prefix)
        email = f"{username}@example.com"
        created = await users.CreateUser(users_pb2.CreateUserRequest(
            username=username, email=email, password=PASSWORD, display_name=display_name))
        tokens = await auth_stub.Login(users_pb2.LoginRequest(username=username,
                                                              password=PASSWORD))
        return Account(created.user.user_id, username, email, tokens.access_token,
                       tokens.refresh_token)
    return make
