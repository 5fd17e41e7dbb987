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

class MediaType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_TYPE_UNSPECIFIED: _ClassVar[MediaType]
    MEDIA_TYPE_IMAGE_JPEG: _ClassVar[MediaType]
    MEDIA_TYPE_IMAGE_PNG: _ClassVar[MediaType]
    MEDIA_TYPE_IMAGE_GIF: _ClassVar[MediaType]
    MEDIA_TYPE_IMAGE_WEBP: _ClassVar[MediaType]
    MEDIA_TYPE_VIDEO_MP4: _ClassVar[MediaType]

class MediaState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_STATE_UNSPECIFIED: _ClassVar[MediaState]
    MEDIA_STATE_PENDING_UPLOAD: _ClassVar[MediaState]
    MEDIA_STATE_READY: _ClassVar[MediaState]
    MEDIA_STATE_REJECTED: _ClassVar[MediaState]
MEDIA_TYPE_UNSPECIFIED: MediaType
MEDIA_TYPE_IMAGE_JPEG: MediaType
MEDIA_TYPE_IMAGE_PNG: MediaType
MEDIA_TYPE_IMAGE_GIF: MediaType
MEDIA_TYPE_IMAGE_WEBP: MediaType
MEDIA_TYPE_VIDEO_MP4: MediaType
MEDIA_STATE_UNSPECIFIED: MediaState
MEDIA_STATE_PENDING_UPLOAD: MediaState
MEDIA_STATE_READY: MediaState
MEDIA_STATE_REJECTED: MediaState

class Media(_message.Message):
    __slots__ = ("media_id", "owner_user_id", "media_type", "state", "size_bytes", "width", "height", "download_url", "download_url_expires_at", "rejection_reason", "created_at")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_URL_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    owner_user_id: int
    media_type: MediaType
    state: MediaState
    size_bytes: int
    width: int
    height: int
    download_url: str
    download_url_expires_at: _timestamp_pb2.Timestamp
    rejection_reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, media_id: _Optional[int] = ..., owner_user_id: _Optional[int] = ..., media_type: _Optional[_Union[MediaType, str]] = ..., state: _Optional[_Union[MediaState, str]] = ..., size_bytes: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., download_url: _Optional[str] = ..., download_url_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rejection_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateUploadRequest(_message.Message):
    __slots__ = ("content_type", "size_bytes")
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    size_bytes: int
    def __init__(self, content_type: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class CreateUploadResponse(_message.Message):
    __slots__ = ("media_id", "upload_url", "upload_method", "upload_headers", "expires_at", "media")
    class UploadHeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_URL_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_METHOD_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_HEADERS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    upload_url: str
    upload_method: str
    upload_headers: _containers.ScalarMap[str, str]
    expires_at: _timestamp_pb2.Timestamp
    media: Media
    def __init__(self, media_id: _Optional[int] = ..., upload_url: _Optional[str] = ..., upload_method: _Optional[str] = ..., upload_headers: _Optional[_Mapping[str, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., media: _Optional[_Union[Media, _Mapping]] = ...) -> None: ...

class CompleteUploadRequest(_message.Message):
    __slots__ = ("media_id",)
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    def __init__(self, media_id: _Optional[int] = ...) -> None: ...

class CompleteUploadResponse(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: Media
    def __init__(self, media: _Optional[_Union[Media, _Mapping]] = ...) -> None: ...

class GetMediaRequest(_message.Message):
    __slots__ = ("media_id",)
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    def __init__(self, media_id: _Optional[int] = ...) -> None: ...

class GetMediaResponse(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: Media
    def __init__(self, media: _Optional[_Union[Media, _Mapping]] = ...) -> None: ...

class BatchGetMediaRequest(_message.Message):
    __slots__ = ("media_ids",)
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    media_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, media_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class BatchGetMediaResponse(_message.Message):
    __slots__ = ("media",)
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    media: _containers.RepeatedCompositeFieldContainer[Media]
    def __init__(self, media: _Optional[_Iterable[_Union[Media, _Mapping]]] = ...) -> None: ...
