import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from twitter.api.v1 import options_pb2 as _options_pb2
from twitter.media.v1 import media_pb2 as _media_pb2
from twitter.tweets.v1 import polls_pb2 as _polls_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TweetKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TWEET_KIND_UNSPECIFIED: _ClassVar[TweetKind]
    TWEET_KIND_ORIGINAL: _ClassVar[TweetKind]
    TWEET_KIND_REPLY: _ClassVar[TweetKind]
    TWEET_KIND_RETWEET: _ClassVar[TweetKind]
TWEET_KIND_UNSPECIFIED: TweetKind
TWEET_KIND_ORIGINAL: TweetKind
TWEET_KIND_REPLY: TweetKind
TWEET_KIND_RETWEET: TweetKind

class Tweet(_message.Message):
    __slots__ = ("tweet_id", "user_id", "author", "kind", "content", "hashtags", "mentions", "urls", "media", "created_at", "edited_at", "like_count", "retweet_count", "reply_count", "reply_to_tweet_id", "retweet_of", "liked_by_viewer", "retweeted_by_viewer", "place", "quoted_tweet_id", "quoted_tweet", "quoted_tweet_unavailable", "quote_count", "poll")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EDITED_AT_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPLY_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEET_OF_FIELD_NUMBER: _ClassVar[int]
    LIKED_BY_VIEWER_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_BY_VIEWER_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    QUOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    POLL_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    user_id: int
    author: Author
    kind: TweetKind
    content: str
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    mentions: _containers.RepeatedCompositeFieldContainer[Mention]
    urls: _containers.RepeatedScalarFieldContainer[str]
    media: _containers.RepeatedCompositeFieldContainer[MediaAttachment]
    created_at: _timestamp_pb2.Timestamp
    edited_at: _timestamp_pb2.Timestamp
    like_count: int
    retweet_count: int
    reply_count: int
    reply_to_tweet_id: int
    retweet_of: Tweet
    liked_by_viewer: bool
    retweeted_by_viewer: bool
    place: str
    quoted_tweet_id: int
    quoted_tweet: Tweet
    quoted_tweet_unavailable: bool
    quote_count: int
    poll: _polls_pb2.Poll
    def __init__(self, tweet_id: _Optional[int] = ..., user_id: _Optional[int] = ..., author: _Optional[_Union[Author, _Mapping]] = ..., kind: _Optional[_Union[TweetKind, str]] = ..., content: _Optional[str] = ..., hashtags: _Optional[_Iterable[str]] = ..., mentions: _Optional[_Iterable[_Union[Mention, _Mapping]]] = ..., urls: _Optional[_Iterable[str]] = ..., media: _Optional[_Iterable[_Union[MediaAttachment, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., edited_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., like_count: _Optional[int] = ..., retweet_count: _Optional[int] = ..., reply_count: _Optional[int] = ..., reply_to_tweet_id: _Optional[int] = ..., retweet_of: _Optional[_Union[Tweet, _Mapping]] = ..., liked_by_viewer: _Optional[bool] = ..., retweeted_by_viewer: _Optional[bool] = ..., place: _Optional[str] = ..., quoted_tweet_id: _Optional[int] = ..., quoted_tweet: _Optional[_Union[Tweet, _Mapping]] = ..., quoted_tweet_unavailable: _Optional[bool] = ..., quote_count: _Optional[int] = ..., poll: _Optional[_Union[_polls_pb2.Poll, _Mapping]] = ...) -> None: ...

class Author(_message.Message):
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

class Mention(_message.Message):
    __slots__ = ("user_id", "username")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ...) -> None: ...

class MediaAttachment(_message.Message):
    __slots__ = ("media_id", "media_type", "url", "width", "height")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    media_type: _media_pb2.MediaType
    url: str
    width: int
    height: int
    def __init__(self, media_id: _Optional[int] = ..., media_type: _Optional[_Union[_media_pb2.MediaType, str]] = ..., url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class Like(_message.Message):
    __slots__ = ("user", "liked_at")
    USER_FIELD_NUMBER: _ClassVar[int]
    LIKED_AT_FIELD_NUMBER: _ClassVar[int]
    user: Author
    liked_at: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[_Union[Author, _Mapping]] = ..., liked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetEdit(_message.Message):
    __slots__ = ("revision", "content", "created_at")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    revision: int
    content: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, revision: _Optional[int] = ..., content: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetRef(_message.Message):
    __slots__ = ("tweet_id", "created_at", "kind", "retweet_of_tweet_id")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RETWEET_OF_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    created_at: _timestamp_pb2.Timestamp
    kind: TweetKind
    retweet_of_tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[TweetKind, str]] = ..., retweet_of_tweet_id: _Optional[int] = ...) -> None: ...

class CreateTweetRequest(_message.Message):
    __slots__ = ("content", "media_ids", "reply_to_tweet_id", "place", "quoted_tweet_id", "poll")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    POLL_FIELD_NUMBER: _ClassVar[int]
    content: str
    media_ids: _containers.RepeatedScalarFieldContainer[int]
    reply_to_tweet_id: int
    place: str
    quoted_tweet_id: int
    poll: _polls_pb2.PollSpec
    def __init__(self, content: _Optional[str] = ..., media_ids: _Optional[_Iterable[int]] = ..., reply_to_tweet_id: _Optional[int] = ..., place: _Optional[str] = ..., quoted_tweet_id: _Optional[int] = ..., poll: _Optional[_Union[_polls_pb2.PollSpec, _Mapping]] = ...) -> None: ...

class CreateTweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class GetTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class GetTweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class UpdateTweetRequest(_message.Message):
    __slots__ = ("tweet_id", "content")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    content: str
    def __init__(self, tweet_id: _Optional[int] = ..., content: _Optional[str] = ...) -> None: ...

class UpdateTweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class DeleteTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class DeleteTweetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUserTweetsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserTweetsResponse(_message.Message):
    __slots__ = ("tweets", "next_page_token")
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[Tweet]
    next_page_token: str
    def __init__(self, tweets: _Optional[_Iterable[_Union[Tweet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class LikeTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class LikeTweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class UnlikeTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnlikeTweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class RetweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class RetweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class UnretweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnretweetResponse(_message.Message):
    __slots__ = ("tweet",)
    TWEET_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ...) -> None: ...

class ListRepliesRequest(_message.Message):
    __slots__ = ("tweet_id", "page_size", "page_token")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    page_size: int
    page_token: str
    def __init__(self, tweet_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRepliesResponse(_message.Message):
    __slots__ = ("replies", "next_page_token")
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    replies: _containers.RepeatedCompositeFieldContainer[Tweet]
    next_page_token: str
    def __init__(self, replies: _Optional[_Iterable[_Union[Tweet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListLikingUsersRequest(_message.Message):
    __slots__ = ("tweet_id", "page_size", "page_token")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    page_size: int
    page_token: str
    def __init__(self, tweet_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLikingUsersResponse(_message.Message):
    __slots__ = ("likes", "next_page_token")
    LIKES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    likes: _containers.RepeatedCompositeFieldContainer[Like]
    next_page_token: str
    def __init__(self, likes: _Optional[_Iterable[_Union[Like, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTweetEditsRequest(_message.Message):
    __slots__ = ("tweet_id", "page_size", "page_token")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    page_size: int
    page_token: str
    def __init__(self, tweet_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTweetEditsResponse(_message.Message):
    __slots__ = ("edits", "next_page_token")
    EDITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    edits: _containers.RepeatedCompositeFieldContainer[TweetEdit]
    next_page_token: str
    def __init__(self, edits: _Optional[_Iterable[_Union[TweetEdit, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BookmarkTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class BookmarkTweetResponse(_message.Message):
    __slots__ = ("tweet", "bookmarked_at")
    TWEET_FIELD_NUMBER: _ClassVar[int]
    BOOKMARKED_AT_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    bookmarked_at: _timestamp_pb2.Timestamp
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ..., bookmarked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UnbookmarkTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnbookmarkTweetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBookmarksRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class Bookmark(_message.Message):
    __slots__ = ("tweet", "bookmarked_at")
    TWEET_FIELD_NUMBER: _ClassVar[int]
    BOOKMARKED_AT_FIELD_NUMBER: _ClassVar[int]
    tweet: Tweet
    bookmarked_at: _timestamp_pb2.Timestamp
    def __init__(self, tweet: _Optional[_Union[Tweet, _Mapping]] = ..., bookmarked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListBookmarksResponse(_message.Message):
    __slots__ = ("bookmarks", "next_page_token")
    BOOKMARKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    bookmarks: _containers.RepeatedCompositeFieldContainer[Bookmark]
    next_page_token: str
    def __init__(self, bookmarks: _Optional[_Iterable[_Union[Bookmark, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BatchGetTweetsRequest(_message.Message):
    __slots__ = ("tweet_ids", "viewer_user_id")
    TWEET_IDS_FIELD_NUMBER: _ClassVar[int]
    VIEWER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_ids: _containers.RepeatedScalarFieldContainer[int]
    viewer_user_id: int
    def __init__(self, tweet_ids: _Optional[_Iterable[int]] = ..., viewer_user_id: _Optional[int] = ...) -> None: ...

class BatchGetTweetsResponse(_message.Message):
    __slots__ = ("tweets",)
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[Tweet]
    def __init__(self, tweets: _Optional[_Iterable[_Union[Tweet, _Mapping]]] = ...) -> None: ...

class ListRecentTweetIdsRequest(_message.Message):
    __slots__ = ("user_id", "since", "page_size", "page_token", "before_tweet_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BEFORE_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    since: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    before_tweet_id: int
    def __init__(self, user_id: _Optional[int] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., before_tweet_id: _Optional[int] = ...) -> None: ...

class ListRecentTweetIdsResponse(_message.Message):
    __slots__ = ("tweets", "next_page_token")
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[TweetRef]
    next_page_token: str
    def __init__(self, tweets: _Optional[_Iterable[_Union[TweetRef, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
