import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from twitter.users.v1 import users_pb2 as _users_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_KIND_UNSPECIFIED: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_FOLLOW: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_MENTION: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_REPLY: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_LIKE: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_RETWEET: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_QUOTE: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_LIST_ADDED: _ClassVar[NotificationKind]
    NOTIFICATION_KIND_POLL_ENDED: _ClassVar[NotificationKind]
NOTIFICATION_KIND_UNSPECIFIED: NotificationKind
NOTIFICATION_KIND_FOLLOW: NotificationKind
NOTIFICATION_KIND_MENTION: NotificationKind
NOTIFICATION_KIND_REPLY: NotificationKind
NOTIFICATION_KIND_LIKE: NotificationKind
NOTIFICATION_KIND_RETWEET: NotificationKind
NOTIFICATION_KIND_QUOTE: NotificationKind
NOTIFICATION_KIND_LIST_ADDED: NotificationKind
NOTIFICATION_KIND_POLL_ENDED: NotificationKind

class NotificationGroup(_message.Message):
    __slots__ = ("group_key", "kind", "target_id", "actor_count", "recent_actor_ids", "latest_notification_id", "updated_at", "unread", "recent_actors", "list_name")
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECENT_ACTOR_IDS_FIELD_NUMBER: _ClassVar[int]
    LATEST_NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UNREAD_FIELD_NUMBER: _ClassVar[int]
    RECENT_ACTORS_FIELD_NUMBER: _ClassVar[int]
    LIST_NAME_FIELD_NUMBER: _ClassVar[int]
    group_key: str
    kind: NotificationKind
    target_id: int
    actor_count: int
    recent_actor_ids: _containers.RepeatedScalarFieldContainer[int]
    latest_notification_id: int
    updated_at: _timestamp_pb2.Timestamp
    unread: bool
    recent_actors: _containers.RepeatedCompositeFieldContainer[_users_pb2.UserSummary]
    list_name: str
    def __init__(self, group_key: _Optional[str] = ..., kind: _Optional[_Union[NotificationKind, str]] = ..., target_id: _Optional[int] = ..., actor_count: _Optional[int] = ..., recent_actor_ids: _Optional[_Iterable[int]] = ..., latest_notification_id: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unread: _Optional[bool] = ..., recent_actors: _Optional[_Iterable[_Union[_users_pb2.UserSummary, _Mapping]]] = ..., list_name: _Optional[str] = ...) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("groups", "next_page_token")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[NotificationGroup]
    next_page_token: str
    def __init__(self, groups: _Optional[_Iterable[_Union[NotificationGroup, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetUnreadCountRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUnreadCountResponse(_message.Message):
    __slots__ = ("unread_count", "last_read_notification_id")
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    unread_count: int
    last_read_notification_id: int
    def __init__(self, unread_count: _Optional[int] = ..., last_read_notification_id: _Optional[int] = ...) -> None: ...

class MarkNotificationsReadRequest(_message.Message):
    __slots__ = ("up_to_notification_id",)
    UP_TO_NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    up_to_notification_id: int
    def __init__(self, up_to_notification_id: _Optional[int] = ...) -> None: ...

class MarkNotificationsReadResponse(_message.Message):
    __slots__ = ("unread_count", "last_read_notification_id")
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_READ_NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    unread_count: int
    last_read_notification_id: int
    def __init__(self, unread_count: _Optional[int] = ..., last_read_notification_id: _Optional[int] = ...) -> None: ...

class StreamNotificationsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("sent_at",)
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamNotificationsResponse(_message.Message):
    __slots__ = ("group", "heartbeat")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    group: NotificationGroup
    heartbeat: Heartbeat
    def __init__(self, group: _Optional[_Union[NotificationGroup, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class StreamNotificationEventsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamNotificationEventsResponse(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: _httpbody_pb2.HttpBody
    def __init__(self, body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...
