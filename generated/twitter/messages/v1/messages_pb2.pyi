import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AllowMessagesFrom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALLOW_MESSAGES_FROM_UNSPECIFIED: _ClassVar[AllowMessagesFrom]
    ALLOW_MESSAGES_FROM_EVERYONE: _ClassVar[AllowMessagesFrom]
    ALLOW_MESSAGES_FROM_FOLLOWED: _ClassVar[AllowMessagesFrom]
ALLOW_MESSAGES_FROM_UNSPECIFIED: AllowMessagesFrom
ALLOW_MESSAGES_FROM_EVERYONE: AllowMessagesFrom
ALLOW_MESSAGES_FROM_FOLLOWED: AllowMessagesFrom

class Participant(_message.Message):
    __slots__ = ("user_id", "username", "display_name", "profile_picture_url")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PROFILE_PICTURE_URL_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    display_name: str
    profile_picture_url: str
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., profile_picture_url: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("message_id", "sender_user_id", "recipient_user_id", "content", "client_message_id", "created_at")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    message_id: int
    sender_user_id: int
    recipient_user_id: int
    content: str
    client_message_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, message_id: _Optional[int] = ..., sender_user_id: _Optional[int] = ..., recipient_user_id: _Optional[int] = ..., content: _Optional[str] = ..., client_message_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("peer", "last_message", "unread_count", "last_read_message_id", "updated_at")
    PEER_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    peer: Participant
    last_message: Message
    unread_count: int
    last_read_message_id: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, peer: _Optional[_Union[Participant, _Mapping]] = ..., last_message: _Optional[_Union[Message, _Mapping]] = ..., unread_count: _Optional[int] = ..., last_read_message_id: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MessagingSettings(_message.Message):
    __slots__ = ("allow_messages_from",)
    ALLOW_MESSAGES_FROM_FIELD_NUMBER: _ClassVar[int]
    allow_messages_from: AllowMessagesFrom
    def __init__(self, allow_messages_from: _Optional[_Union[AllowMessagesFrom, str]] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("recipient_user_id", "content", "client_message_id")
    RECIPIENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    recipient_user_id: int
    content: str
    client_message_id: str
    def __init__(self, recipient_user_id: _Optional[int] = ..., content: _Optional[str] = ..., client_message_id: _Optional[str] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: Message
    def __init__(self, message: _Optional[_Union[Message, _Mapping]] = ...) -> None: ...

class ListConversationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConversationsResponse(_message.Message):
    __slots__ = ("conversations", "next_page_token")
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    next_page_token: str
    def __init__(self, conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("peer_user_id", "page_size", "page_token")
    PEER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    peer_user_id: int
    page_size: int
    page_token: str
    def __init__(self, peer_user_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MarkConversationReadRequest(_message.Message):
    __slots__ = ("peer_user_id", "up_to_message_id")
    PEER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    UP_TO_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    peer_user_id: int
    up_to_message_id: int
    def __init__(self, peer_user_id: _Optional[int] = ..., up_to_message_id: _Optional[int] = ...) -> None: ...

class MarkConversationReadResponse(_message.Message):
    __slots__ = ("unread_count", "last_read_message_id")
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    unread_count: int
    last_read_message_id: int
    def __init__(self, unread_count: _Optional[int] = ..., last_read_message_id: _Optional[int] = ...) -> None: ...

class GetMessagingSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetMessagingSettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: MessagingSettings
    def __init__(self, settings: _Optional[_Union[MessagingSettings, _Mapping]] = ...) -> None: ...

class UpdateMessagingSettingsRequest(_message.Message):
    __slots__ = ("allow_messages_from",)
    ALLOW_MESSAGES_FROM_FIELD_NUMBER: _ClassVar[int]
    allow_messages_from: AllowMessagesFrom
    def __init__(self, allow_messages_from: _Optional[_Union[AllowMessagesFrom, str]] = ...) -> None: ...

class UpdateMessagingSettingsResponse(_message.Message):
    __slots__ = ("settings",)
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    settings: MessagingSettings
    def __init__(self, settings: _Optional[_Union[MessagingSettings, _Mapping]] = ...) -> None: ...
