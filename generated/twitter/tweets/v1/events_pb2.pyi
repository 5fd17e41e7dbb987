import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from twitter.tweets.v1 import tweets_pb2 as _tweets_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TweetCreated(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "kind", "content", "hashtags", "mention_user_ids", "reply_to_tweet_id", "retweet_of_tweet_id", "media_ids", "created_at", "place", "quoted_tweet_id", "quoted_author_user_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_OF_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTED_AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    kind: _tweets_pb2.TweetKind
    content: str
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    mention_user_ids: _containers.RepeatedScalarFieldContainer[int]
    reply_to_tweet_id: int
    retweet_of_tweet_id: int
    media_ids: _containers.RepeatedScalarFieldContainer[int]
    created_at: _timestamp_pb2.Timestamp
    place: str
    quoted_tweet_id: int
    quoted_author_user_id: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., kind: _Optional[_Union[_tweets_pb2.TweetKind, str]] = ..., content: _Optional[str] = ..., hashtags: _Optional[_Iterable[str]] = ..., mention_user_ids: _Optional[_Iterable[int]] = ..., reply_to_tweet_id: _Optional[int] = ..., retweet_of_tweet_id: _Optional[int] = ..., media_ids: _Optional[_Iterable[int]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., place: _Optional[str] = ..., quoted_tweet_id: _Optional[int] = ..., quoted_author_user_id: _Optional[int] = ...) -> None: ...

class TweetEdited(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "revision", "content", "hashtags", "mention_user_ids", "previous_hashtags", "previous_mention_user_ids", "edited_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    EDITED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    revision: int
    content: str
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    mention_user_ids: _containers.RepeatedScalarFieldContainer[int]
    previous_hashtags: _containers.RepeatedScalarFieldContainer[str]
    previous_mention_user_ids: _containers.RepeatedScalarFieldContainer[int]
    edited_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., revision: _Optional[int] = ..., content: _Optional[str] = ..., hashtags: _Optional[_Iterable[str]] = ..., mention_user_ids: _Optional[_Iterable[int]] = ..., previous_hashtags: _Optional[_Iterable[str]] = ..., previous_mention_user_ids: _Optional[_Iterable[int]] = ..., edited_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetDeleted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "kind", "hashtags", "mention_user_ids", "reply_to_tweet_id", "retweet_of_tweet_id", "created_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTION_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_OF_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    kind: _tweets_pb2.TweetKind
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    mention_user_ids: _containers.RepeatedScalarFieldContainer[int]
    reply_to_tweet_id: int
    retweet_of_tweet_id: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., kind: _Optional[_Union[_tweets_pb2.TweetKind, str]] = ..., hashtags: _Optional[_Iterable[str]] = ..., mention_user_ids: _Optional[_Iterable[int]] = ..., reply_to_tweet_id: _Optional[int] = ..., retweet_of_tweet_id: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetLiked(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "user_id", "like_count")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    user_id: int
    like_count: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., user_id: _Optional[int] = ..., like_count: _Optional[int] = ...) -> None: ...

class TweetUnliked(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "user_id", "like_count")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    user_id: int
    like_count: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., user_id: _Optional[int] = ..., like_count: _Optional[int] = ...) -> None: ...

class TweetRetweeted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "user_id", "retweet_tweet_id", "retweet_count")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    user_id: int
    retweet_tweet_id: int
    retweet_count: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., user_id: _Optional[int] = ..., retweet_tweet_id: _Optional[int] = ..., retweet_count: _Optional[int] = ...) -> None: ...

class TweetUnretweeted(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "user_id", "retweet_tweet_id", "retweet_count")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    user_id: int
    retweet_tweet_id: int
    retweet_count: int
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., user_id: _Optional[int] = ..., retweet_tweet_id: _Optional[int] = ..., retweet_count: _Optional[int] = ...) -> None: ...

class PollEnded(_message.Message):
    __slots__ = ("event_id", "occurred_at", "tweet_id", "author_user_id", "ends_at", "page", "voter_user_ids", "vote_counts")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    VOTER_USER_IDS_FIELD_NUMBER: _ClassVar[int]
    VOTE_COUNTS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occurred_at: _timestamp_pb2.Timestamp
    tweet_id: int
    author_user_id: int
    ends_at: _timestamp_pb2.Timestamp
    page: int
    voter_user_ids: _containers.RepeatedScalarFieldContainer[int]
    vote_counts: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, event_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tweet_id: _Optional[int] = ..., author_user_id: _Optional[int] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page: _Optional[int] = ..., voter_user_ids: _Optional[_Iterable[int]] = ..., vote_counts: _Optional[_Iterable[int]] = ...) -> None: ...
