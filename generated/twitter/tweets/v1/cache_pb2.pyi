from twitter.tweets.v1 import tweets_pb2 as _tweets_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CachedTweet(_message.Message):
    __slots__ = ("tweet", "deleted", "media_expire_ms")
    TWEET_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    MEDIA_EXPIRE_MS_FIELD_NUMBER: _ClassVar[int]
    tweet: _tweets_pb2.Tweet
    deleted: bool
    media_expire_ms: int
    def __init__(self, tweet: _Optional[_Union[_tweets_pb2.Tweet, _Mapping]] = ..., deleted: _Optional[bool] = ..., media_expire_ms: _Optional[int] = ...) -> None: ...
