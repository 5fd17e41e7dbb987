"""Handlers: the one way a worker registers what it handles."""

from __future__ import annotations

import pytest
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.contracts import subject
from services.shared.messaging.consumer import Handlers, Progress


async def _no_progress() -> None:
    return None


async def test_a_handler_gets_the_decoded_event_under_its_contract_subject() -> None:
    seen: list[tweet_events.TweetLiked] = []

    async def liked(event: tweet_events.TweetLiked) -> None:
        seen.append(event)

    on = Handlers().on(tweet_events.TweetLiked, liked)
    key = subject(tweet_events.TweetLiked)
    assert list(on) == [key]
    event = tweet_events.TweetLiked(tweet_id=7, like_count=3)
    await on[key](key, event.SerializeToString(), _no_progress)
    assert seen == [event]


async def test_a_handler_that_asks_for_progress_gets_the_runners() -> None:
    signals: list[str] = []

    async def progress() -> None:
        signals.append("progress")

    async def created(event: tweet_events.TweetCreated, extend: Progress) -> None:
        assert event.tweet_id == 9
        await extend()

    on = Handlers().on(tweet_events.TweetCreated, created, progress=True)
    key = subject(tweet_events.TweetCreated)
    await on[key](key, tweet_events.TweetCreated(tweet_id=9).SerializeToString(), progress)
    assert signals == ["progress"]


async def test_one_event_cannot_have_two_handlers() -> None:
    async def handle(event: user_events.FollowCreated) -> None:
        return None

    on = Handlers().on(user_events.FollowCreated, handle)
    with pytest.raises(ValueError, match="registered already"):
        on.on(user_events.FollowCreated, handle)


def test_the_filter_covers_every_registered_subject() -> None:
    async def handle(event: object) -> None:
        return None

    on = Handlers().on(user_events.FollowCreated, handle).on(user_events.FollowDeleted, handle)
    subjects = [subject(user_events.FollowCreated), subject(user_events.FollowDeleted)]
    prefix = on.filter_subject.removesuffix(">")
    assert on.filter_subject.endswith(">")
    assert all(s.startswith(prefix) for s in subjects)
    with pytest.raises(ValueError, match="no handler"):
        _ = Handlers().filter_subject
