"""The users service layer refuses before it touches its store: a user acts
only as themselves, and bad input is INVALID_ARGUMENT on the right field
(services/users/social.py, pins.py, lists.py). The store behind these checks is real
PostgreSQL in tests/integration/test_users_service.py."""

from __future__ import annotations

import pytest

from services.shared.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.shared.snowflake.ids import IdGenerator
from services.users.client.lists import ListAudienceWriter
from services.users.lists.service import Lists
from services.users.pins import Pins
from services.users.social import Social
from tests.fakes.peers import FakeTweets
from tests.fakes.pool import UntouchedPool

ALICE, BOB = 10, 20


def fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


@pytest.fixture
def pool() -> UntouchedPool:
    return UntouchedPool()


@pytest.fixture
def social(pool: UntouchedPool) -> Social:
    return Social(pool)


TWEETS = FakeTweets()
ALICES_TWEET = TWEETS.post(ALICE)
ALICES_RETWEET = TWEETS.post(ALICE, retweet_of=TWEETS.post(BOB))


@pytest.fixture
def pins(pool: UntouchedPool) -> Pins:
    return Pins(pool, TWEETS)


async def test_no_one_follows_or_unfollows_for_someone_else(social: Social,
                                                            pool: UntouchedPool) -> None:
    with pytest.raises(PermissionDenied, match="as yourself"):
        await social.follow(BOB, ALICE, BOB)
    with pytest.raises(PermissionDenied, match="as yourself"):
        await social.unfollow(BOB, ALICE, BOB)
    assert pool.asked == 0


async def test_following_yourself_is_invalid_argument(social: Social) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await social.follow(ALICE, ALICE, ALICE)
    assert fields(caught.value) == {"target_user_id"}


async def test_no_one_updates_another_users_profile(social: Social) -> None:
    with pytest.raises(PermissionDenied):
        await social.update_profile(BOB, ALICE, {"bio": "pwned"})


@pytest.mark.parametrize(("changes", "field"), [
    ({"website": "javascript:alert(1)"}, "website"),
    ({"profile_picture_url": "ftp://example.com/x.png"}, "profile_picture_url"),
    ({"display_name": "x" * 51}, "display_name"),
    ({"display_name": "bell\x07"}, "display_name"),
    ({"bio": "b" * 161}, "bio"),
])
async def test_bad_profile_fields_are_named(social: Social, changes: dict[str, str],
                                            field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await social.update_profile(ALICE, ALICE, changes)
    assert fields(caught.value) == {field}


@pytest.mark.parametrize("username", ["", "has space", "x" * 16, "nul\x00", "é"])
async def test_a_username_that_cannot_exist_is_refused_before_any_lookup(
        social: Social, username: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await social.get_user_by_username(username)
    assert fields(caught.value) == {"username"}


async def test_pins_are_the_callers_own(pins: Pins, pool: UntouchedPool) -> None:
    with pytest.raises(PermissionDenied):
        await pins.pin(BOB, ALICE, ALICES_TWEET)
    with pytest.raises(PermissionDenied):
        await pins.unpin(BOB, ALICE)
    assert pool.asked == 0


async def test_a_pin_needs_an_existing_original_tweet(pins: Pins) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await pins.pin(ALICE, ALICE, 0)
    assert fields(caught.value) == {"tweet_id"}
    with pytest.raises(NotFound):
        await pins.pin(ALICE, ALICE, 999)
    with pytest.raises(FailedPrecondition, match="retweet"):
        await pins.pin(ALICE, ALICE, ALICES_RETWEET)


class NoAudiences(ListAudienceWriter):
    def __init__(self) -> None:  # no Redis: a refused change writes no audience
        pass


@pytest.mark.parametrize(("name", "description", "field"), [
    ("", "", "name"), ("   ", "", "name"), ("x" * 26, "", "name"),
    ("ok", "d" * 101, "description"), ("bad\x00name", "", "name"),
])
async def test_bad_list_names_and_descriptions_are_invalid(
        pool: UntouchedPool, name: str, description: str, field: str) -> None:
    lists = Lists(pool, IdGenerator.fixed(1), NoAudiences())
    with pytest.raises(InvalidArgument) as caught:
        await lists.create(ALICE, name, description, private=False)
    assert field in fields(caught.value)
    with pytest.raises(InvalidArgument):
        await lists.update(ALICE, 1, name=name, description=description, private=None)
    assert pool.asked == 0
