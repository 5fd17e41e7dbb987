"""Timeline rules (services/timeline/domain.py): entries as sorted-set
members, the read-time merge and the next page's token."""

from __future__ import annotations

import pytest

from services.shared.errors import PermissionDenied
from services.shared.paging.cursor import LastId
from services.shared.snowflake.ids import id_time
from services.timeline.domain import Entry, Timeline, merge, next_token, require_self, score_of
from tests.fakes.clock import START, snowflake

T0 = int(START * 1000)


def e(n: int, author: int = 1) -> Entry:
    return Entry(snowflake(T0 + n), author)


@pytest.mark.parametrize("entry", [Entry(1, 2), Entry(snowflake(T0, 7), 123456789)])
def test_an_entry_round_trips_through_its_member(entry: Entry) -> None:
    assert Entry.parse(entry.member) == entry
    assert Entry.parse(entry.member.encode()) == entry


def test_a_member_without_an_author_parses_with_author_zero() -> None:
    assert Entry.parse(b"42") == Entry(42, 0)


def test_the_score_is_the_ids_millisecond() -> None:
    tweet_id = snowflake(T0 + 1234, 99)
    assert score_of(tweet_id) == T0 + 1234
    assert id_time(tweet_id).timestamp() * 1000 == pytest.approx(T0 + 1234)


def test_entries_order_by_tweet_id_then_author() -> None:
    assert sorted([e(2), e(1), Entry(e(1).tweet_id, 0)]) == [Entry(e(1).tweet_id, 0), e(1), e(2)]


def test_merge_is_newest_first_each_tweet_once() -> None:
    home = [e(5), e(3), e(1)]
    celebrity = [e(4), e(3, author=1), e(2, author=9)]
    assert merge([home, celebrity], None, 10) == [e(5), e(4), e(3), e(2, author=9), e(1)]


def test_merge_stops_at_want() -> None:
    assert merge([[e(n) for n in range(10)]], None, 3) == [e(9), e(8), e(7)]


def test_merge_keeps_only_what_is_strictly_older_than_the_cursor() -> None:
    assert merge([[e(n) for n in range(5)]], e(3).tweet_id, 10) == [e(2), e(1), e(0)]


def test_merge_of_nothing_is_empty() -> None:
    assert merge([], None, 5) == []
    assert merge([[], []], None, 5) == []


def test_a_full_page_pages_on_past_its_last_shown_tweet() -> None:
    req = Timeline.HOME.cursor.request(1, 2, "")
    token = next_token(req, [30, 20, 10], [e(n) for n in range(12)], 12)
    assert Timeline.HOME.cursor.decode(token, 1) == LastId(20)


def test_a_short_page_with_every_candidate_used_up_pages_on_past_the_last() -> None:
    req = Timeline.HOME.cursor.request(1, 5, "")
    candidates = [e(n) for n in range(12, 0, -1)]
    token = next_token(req, [], candidates, 12)
    assert Timeline.HOME.cursor.decode(token, 1) == LastId(candidates[-1].tweet_id)


def test_the_last_page_has_no_token() -> None:
    req = Timeline.HOME.cursor.request(1, 5, "")
    assert next_token(req, [3, 2], [e(2), e(1)], 15) == ""


def test_each_timeline_has_its_own_tokens() -> None:
    names = {t.cursor.name for t in Timeline}
    assert names == {"timeline.home", "timeline.mentions", "timeline.list"}


def test_require_self() -> None:
    require_self(5, 5)
    with pytest.raises(PermissionDenied):
        require_self(5, 6)
