"""The messages service against the real Cassandra: what the table holds is
ciphertext, and key rotation keeps old messages readable (a second, in-process
messages server configured with a new key first and the old key after it)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator

import grpc
import pytest
from pydantic import SecretStr
from twitter.messages.v1 import messages_pb2, messages_pb2_grpc

from services.messages.crypto import MessageCipher, Sealed, UndecryptableMessage, dev_key_spec
from services.messages.domain import Pair
from services.messages.server import build
from services.messages.settings import MessagesSettings
from services.shared.config import ScyllaSettings
from services.shared.rpc.server import create_server
from services.shared.stores.cassandra import Cql
from tests.support.users import Account, MakeAccount


@pytest.fixture(scope="session")
async def cql(stack_env: dict[str, str]) -> AsyncIterator[Cql]:
    session = await Cql.connect(ScyllaSettings())
    yield session
    await session.close()


@pytest.fixture(scope="session")
async def messages_stub(stack_env: dict[str, str]) -> AsyncIterator[
        messages_pb2_grpc.MessageServiceAsyncStub]:
    channel = grpc.aio.insecure_channel(stack_env["MESSAGES_ADDR"])
    yield messages_pb2_grpc.MessageServiceStub(channel)
    await channel.close()


def stack_key_spec() -> str:
    """The key the stack's messages service uses (MESSAGES_KEYS, else the dev key file)."""
    settings = MessagesSettings()
    if settings.messages_keys is not None:
        return settings.messages_keys.get_secret_value()
    return dev_key_spec(settings.dev_key_file())


async def send(stub: messages_pb2_grpc.MessageServiceAsyncStub, sender: Account,
               recipient: Account, content: str) -> messages_pb2.Message:
    response = await stub.SendMessage(messages_pb2.SendMessageRequest(
        recipient_user_id=recipient.user_id, content=content), metadata=sender.metadata)
    return response.message


async def stored_row(cql: Cql, a: Account, b: Account, message_id: int) -> dict[str, object]:
    pair = Pair.of(a.user_id, b.user_id)
    statement = await cql.prepare(
        "SELECT sender_id, key_id, ciphertext FROM dm_messages"
        " WHERE user_low = ? AND user_high = ? AND message_id = ?")
    rows = await cql.execute(statement, (pair.low, pair.high, message_id))
    assert len(rows) == 1
    return rows[0]


async def test_the_table_holds_ciphertext_bound_to_its_row(
        cql: Cql, messages_stub: messages_pb2_grpc.MessageServiceAsyncStub,
        make_account: MakeAccount) -> None:
    alice, bob = await make_account("ea"), await make_account("eb")
    plaintext = "meet me at the usual place, 7pm " + secrets.token_hex(8)
    message = await send(messages_stub, alice, bob, plaintext)
    row = await stored_row(cql, alice, bob, message.message_id)
    blob = row["ciphertext"]
    assert isinstance(blob, bytes)
    assert plaintext.encode() not in blob
    assert b"usual place" not in blob
    assert len(blob) == 12 + len(plaintext.encode()) + 16  # nonce, ciphertext, GCM tag

    cipher = MessageCipher.from_spec(stack_key_spec())
    assert row["key_id"] == cipher.primary_key_id
    pair = Pair.of(alice.user_id, bob.user_id)
    sealed = Sealed(str(row["key_id"]), blob)
    assert cipher.open(pair, message.message_id, alice.user_id, sealed) == plaintext
    # The associated data binds it to its conversation, id and sender.
    with pytest.raises(UndecryptableMessage):
        cipher.open(pair, message.message_id + 1, alice.user_id, sealed)
    with pytest.raises(UndecryptableMessage):
        cipher.open(pair, message.message_id, bob.user_id, sealed)


@pytest.fixture
async def rotated(stack_env: dict[str, str]) -> AsyncIterator[
        messages_pb2_grpc.MessageServiceAsyncStub]:
    """A messages server whose new key `r2` encrypts and whose old keys still decrypt."""
    new_key = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = MessagesSettings(grpc_port=0, messages_keys=SecretStr(
        f"r2:{new_key},{stack_key_spec()}"))
    server, port, _ = create_server(await build(settings), settings)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield messages_pb2_grpc.MessageServiceStub(channel)
    await channel.close()
    await server.stop(grace=None)


async def test_rotation_keeps_old_messages_readable(
        cql: Cql, messages_stub: messages_pb2_grpc.MessageServiceAsyncStub,
        rotated: messages_pb2_grpc.MessageServiceAsyncStub,
        make_account: MakeAccount) -> None:
    alice, bob = await make_account("ka"), await make_account("kb")
    old = await send(messages_stub, alice, bob, "sealed under the old key")
    new = await send(rotated, bob, alice, "sealed under the new key")
    assert (await stored_row(cql, alice, bob, new.message_id))["key_id"] == "r2"
    assert (await stored_row(cql, alice, bob, old.message_id))["key_id"] != "r2"

    listed = await rotated.ListMessages(messages_pb2.ListMessagesRequest(
        peer_user_id=bob.user_id), metadata=alice.metadata)
    assert [m.content for m in listed.messages] == ["sealed under the new key",
                                                    "sealed under the old key"]
