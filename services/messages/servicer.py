"""gRPC transport of the messages service: requests to domain calls, records to protos."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.messages.v1 import messages_pb2, messages_pb2_grpc

from services.messages.conversations import Messenger
from services.messages.domain import AllowFrom, Conversation, Message, Participant
from services.shared.errors import InvalidArgument
from services.shared.fields.timestamps import to_timestamp
from services.shared.security.auth import caller_id

Ctx = grpc.aio.ServicerContext[Any, Any]


def message_pb(message: Message) -> messages_pb2.Message:
    return messages_pb2.Message(
        message_id=message.message_id, sender_user_id=message.sender_id,
        recipient_user_id=message.recipient_id, content=message.content,
        client_message_id=message.client_message_id,
        created_at=to_timestamp(message.created_at))


def participant_pb(person: Participant) -> messages_pb2.Participant:
    return messages_pb2.Participant(user_id=person.user_id, username=person.username,
                                    display_name=person.display_name,
                                    profile_picture_url=person.profile_picture_url)


def conversation_pb(conversation: Conversation) -> messages_pb2.Conversation:
    return messages_pb2.Conversation(
        peer=participant_pb(conversation.peer), last_message=message_pb(conversation.last_message),
        unread_count=conversation.unread_count,
        last_read_message_id=conversation.last_read_message_id,
        updated_at=to_timestamp(conversation.updated_at))


def settings_pb(allow_from: AllowFrom) -> messages_pb2.MessagingSettings:
    return messages_pb2.MessagingSettings(
        allow_messages_from=int(allow_from))  # type: ignore[arg-type]


class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, messenger: Messenger) -> None:
        self._messenger = messenger

    async def SendMessage(self, request: messages_pb2.SendMessageRequest,
                          context: Ctx) -> messages_pb2.SendMessageResponse:
        message = await self._messenger.send(caller_id(), request.recipient_user_id,
                                             request.content, request.client_message_id)
        return messages_pb2.SendMessageResponse(message=message_pb(message))

    async def ListConversations(self, request: messages_pb2.ListConversationsRequest,
                                context: Ctx) -> messages_pb2.ListConversationsResponse:
        found, token = await self._messenger.list_conversations(
            caller_id(), request.page_size, request.page_token)
        return messages_pb2.ListConversationsResponse(
            conversations=[conversation_pb(c) for c in found], next_page_token=token)

    async def ListMessages(self, request: messages_pb2.ListMessagesRequest,
                           context: Ctx) -> messages_pb2.ListMessagesResponse:
        found, token = await self._messenger.list_messages(
            caller_id(), request.peer_user_id, request.page_size, request.page_token)
        return messages_pb2.ListMessagesResponse(messages=[message_pb(m) for m in found],
                                                 next_page_token=token)

    async def MarkConversationRead(self, request: messages_pb2.MarkConversationReadRequest,
                                   context: Ctx) -> messages_pb2.MarkConversationReadResponse:
        unread, position = await self._messenger.mark_read(
            caller_id(), request.peer_user_id, request.up_to_message_id)
        return messages_pb2.MarkConversationReadResponse(unread_count=unread,
                                                         last_read_message_id=position)

    async def GetMessagingSettings(self, request: messages_pb2.GetMessagingSettingsRequest,
                                   context: Ctx) -> messages_pb2.GetMessagingSettingsResponse:
        value = await self._messenger.allow_from(caller_id())
        return messages_pb2.GetMessagingSettingsResponse(settings=settings_pb(value))

    async def UpdateMessagingSettings(
            self, request: messages_pb2.UpdateMessagingSettingsRequest,
            context: Ctx) -> messages_pb2.UpdateMessagingSettingsResponse:
        raw = int(request.allow_messages_from)
        if raw and raw not in AllowFrom._value2member_map_:
            raise InvalidArgument.field("allow_messages_from", "is not a known value")
        value = await self._messenger.set_allow_from(caller_id(), AllowFrom(raw) if raw else None)
        return messages_pb2.UpdateMessagingSettingsResponse(settings=settings_pb(value))
