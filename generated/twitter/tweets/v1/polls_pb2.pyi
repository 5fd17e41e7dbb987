import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PollSpec(_message.Message):
    __slots__ = ("options", "duration")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedScalarFieldContainer[str]
    duration: _duration_pb2.Duration
    def __init__(self, options: _Optional[_Iterable[str]] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PollOption(_message.Message):
    __slots__ = ("position", "label", "vote_count")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    VOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    position: int
    label: str
    vote_count: int
    def __init__(self, position: _Optional[int] = ..., label: _Optional[str] = ..., vote_count: _Optional[int] = ...) -> None: ...

class Poll(_message.Message):
    __slots__ = ("options", "ends_at", "ended", "results_visible", "total_votes", "viewer_vote")
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_VISIBLE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOTES_FIELD_NUMBER: _ClassVar[int]
    VIEWER_VOTE_FIELD_NUMBER: _ClassVar[int]
    options: _containers.RepeatedCompositeFieldContainer[PollOption]
    ends_at: _timestamp_pb2.Timestamp
    ended: bool
    results_visible: bool
    total_votes: int
    viewer_vote: int
    def __init__(self, options: _Optional[_Iterable[_Union[PollOption, _Mapping]]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended: _Optional[bool] = ..., results_visible: _Optional[bool] = ..., total_votes: _Optional[int] = ..., viewer_vote: _Optional[int] = ...) -> None: ...

class GetPollRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class GetPollResponse(_message.Message):
    __slots__ = ("poll",)
    POLL_FIELD_NUMBER: _ClassVar[int]
    poll: Poll
    def __init__(self, poll: _Optional[_Union[Poll, _Mapping]] = ...) -> None: ...

class VotePollRequest(_message.Message):
    __slots__ = ("tweet_id", "option")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    OPTION_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    option: int
    def __init__(self, tweet_id: _Optional[int] = ..., option: _Optional[int] = ...) -> None: ...

class VotePollResponse(_message.Message):
    __slots__ = ("poll",)
    POLL_FIELD_NUMBER: _ClassVar[int]
    poll: Poll
    def __init__(self, poll: _Optional[_Union[Poll, _Mapping]] = ...) -> None: ...
