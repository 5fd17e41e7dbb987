"""The messages contract (twitter/messages/v1/messages.proto): validation,
idempotency per client_message_id, conversations visible to their two
participants, paging."""

from __future__ import annotations

import grpc
import pytest
from twitter.messages.v1 import messages_pb2, messages_pb2_grpc

from tests.support.conformance import Channels, NewUser, rejected, unique


@pytest.fixture(scope="module")
def messages(channel: Channels) -> messages_pb2_grpc.MessageServiceAsyncStub:
    return messages_pb2_grpc.MessageServiceStub(channel("messages"))


async def test_messages_are_validated(messages: messages_pb2_grpc.MessageServiceAsyncStub,
                                      new_user: NewUser) -> None:
    me, peer = await new_user(), await new_user()
    for request in [messages_pb2.SendMessageRequest(recipient_user_id=me.user_id, content="hi"),
                    messages_pb2.SendMessageRequest(recipient_user_id=peer.user_id, content=""),
                    messages_pb2.SendMessageRequest(recipient_user_id=peer.user_id,
                                                    content="x" * 10_001)]:
        error = await rejected(messages.SendMessage(request, metadata=me.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, request
    nobody = await rejected(messages.SendMessage(messages_pb2.SendMessageRequest(
        recipient_user_id=1, content="hi"), metadata=me.auth))
    assert nobody.code() == grpc.StatusCode.NOT_FOUND


async def test_a_retried_send_is_one_message(messages: messages_pb2_grpc.MessageServiceAsyncStub,
                                             new_user: NewUser) -> None:
    me, peer, stranger = await new_user(), await new_user(), await new_user()
    key = unique("key")
    send = messages_pb2.SendMessageRequest(recipient_user_id=peer.user_id, content="hello",
                                           client_message_id=key)
    first = await messages.SendMessage(send, metadata=me.auth)
    again = await messages.SendMessage(send, metadata=me.auth)
    assert again.message.message_id == first.message.message_id
    reused = await rejected(messages.SendMessage(messages_pb2.SendMessageRequest(
        recipient_user_id=peer.user_id, content="something else", client_message_id=key),
        metadata=me.auth))
    assert reused.code() == grpc.StatusCode.ALREADY_EXISTS
    for n in range(3):
        await messages.SendMessage(messages_pb2.SendMessageRequest(
            recipient_user_id=peer.user_id, content=f"more {n}"), metadata=me.auth)
    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await messages.ListMessages(messages_pb2.ListMessagesRequest(
            peer_user_id=me.user_id, page_size=2, page_token=token), metadata=peer.auth)
        assert len(page.messages) <= 2
        seen += [m.content for m in page.messages]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["more 2", "more 1", "more 0", "hello"]
    outsider = await rejected(messages.ListMessages(messages_pb2.ListMessagesRequest(
        peer_user_id=me.user_id), metadata=stranger.auth))
    assert outsider.code() == grpc.StatusCode.NOT_FOUND
