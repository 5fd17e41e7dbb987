import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from twitter.users.v1 import users_pb2 as _users_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserList(_message.Message):
    __slots__ = ("list_id", "owner", "name", "description", "private", "member_count", "follower_count", "created_at", "following")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    owner: _users_pb2.UserSummary
    name: str
    description: str
    private: bool
    member_count: int
    follower_count: int
    created_at: _timestamp_pb2.Timestamp
    following: bool
    def __init__(self, list_id: _Optional[int] = ..., owner: _Optional[_Union[_users_pb2.UserSummary, _Mapping]] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., private: _Optional[bool] = ..., member_count: _Optional[int] = ..., follower_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., following: _Optional[bool] = ...) -> None: ...

class ListMember(_message.Message):
    __slots__ = ("user", "added_at")
    USER_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_FIELD_NUMBER: _ClassVar[int]
    user: _users_pb2.UserSummary
    added_at: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[_Union[_users_pb2.UserSummary, _Mapping]] = ..., added_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateListRequest(_message.Message):
    __slots__ = ("name", "description", "private")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    private: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., private: _Optional[bool] = ...) -> None: ...

class CreateListResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class GetListRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class GetListResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class UpdateListRequest(_message.Message):
    __slots__ = ("list_id", "name", "description", "private")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    name: str
    description: str
    private: bool
    def __init__(self, list_id: _Optional[int] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., private: _Optional[bool] = ...) -> None: ...

class UpdateListResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class DeleteListRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class DeleteListResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AddListMemberRequest(_message.Message):
    __slots__ = ("list_id", "user_id")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    user_id: int
    def __init__(self, list_id: _Optional[int] = ..., user_id: _Optional[int] = ...) -> None: ...

class AddListMemberResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class RemoveListMemberRequest(_message.Message):
    __slots__ = ("list_id", "user_id")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    user_id: int
    def __init__(self, list_id: _Optional[int] = ..., user_id: _Optional[int] = ...) -> None: ...

class RemoveListMemberResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class ListListMembersRequest(_message.Message):
    __slots__ = ("list_id", "page_size", "page_token")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    page_size: int
    page_token: str
    def __init__(self, list_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListListMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[ListMember]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[ListMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class FollowListRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class FollowListResponse(_message.Message):
    __slots__ = ("list",)
    LIST_FIELD_NUMBER: _ClassVar[int]
    list: UserList
    def __init__(self, list: _Optional[_Union[UserList, _Mapping]] = ...) -> None: ...

class UnfollowListRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class UnfollowListResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListOwnedListsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOwnedListsResponse(_message.Message):
    __slots__ = ("lists", "next_page_token")
    LISTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    lists: _containers.RepeatedCompositeFieldContainer[UserList]
    next_page_token: str
    def __init__(self, lists: _Optional[_Iterable[_Union[UserList, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListFollowedListsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFollowedListsResponse(_message.Message):
    __slots__ = ("lists", "next_page_token")
    LISTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    lists: _containers.RepeatedCompositeFieldContainer[UserList]
    next_page_token: str
    def __init__(self, lists: _Optional[_Iterable[_Union[UserList, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAudience(_message.Message):
    __slots__ = ("list_id", "owner_id", "private", "member_ids", "version", "deleted")
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_IDS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    owner_id: int
    private: bool
    member_ids: _containers.RepeatedScalarFieldContainer[int]
    version: int
    deleted: bool
    def __init__(self, list_id: _Optional[int] = ..., owner_id: _Optional[int] = ..., private: _Optional[bool] = ..., member_ids: _Optional[_Iterable[int]] = ..., version: _Optional[int] = ..., deleted: _Optional[bool] = ...) -> None: ...

class GetListAudienceRequest(_message.Message):
    __slots__ = ("list_id",)
    LIST_ID_FIELD_NUMBER: _ClassVar[int]
    list_id: int
    def __init__(self, list_id: _Optional[int] = ...) -> None: ...

class GetListAudienceResponse(_message.Message):
    __slots__ = ("audience",)
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    audience: ListAudience
    def __init__(self, audience: _Optional[_Union[ListAudience, _Mapping]] = ...) -> None: ...
