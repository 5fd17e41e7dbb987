"""The search query language (services/search/query.py): what each kind of
token becomes, and the queries refused with a violation on `q`."""

from __future__ import annotations

import pytest

from services.search.query import MAX_QUERY, Query, check_characters, parse
from services.shared.errors import InvalidArgument


def test_each_kind_of_token() -> None:
    query = parse('hello #Launch @alice_1 from:Bob "quick  brown\tfox" world')
    assert query == Query(words=["hello", "world"], phrases=["quick brown fox"],
                          hashtags=["launch"], mentions=["alice_1"], authors=["Bob"])
    assert query.text == 'hello world "quick brown fox"'


def test_operators_are_case_insensitive_only_where_meant() -> None:
    query = parse("FROM:Alice #ÉTÉ @Bob")
    assert query.authors == ["Alice"]  # the prefix in any case, the name as given
    assert query.hashtags == ["été"]  # hashtags compare in lower case (Unicode words too)
    assert query.mentions == ["Bob"]


@pytest.mark.parametrize(("token", "word"), [
    ("#", "#"),  # no tag
    ("#foo-bar", "#foo-bar"),  # not one word
    ("@", "@"),
    ("@sixteen_chars_xx", "@sixteen_chars_xx"),  # longer than a username
    ("@a.b", "@a.b"),
    ("from:", "from:"),
    ("from:no-such", "from:no-such"),
    ('"unclosed', "unclosed"),  # a stray quote is dropped
])
def test_malformed_operators_are_plain_words(token: str, word: str) -> None:
    query = parse(token)
    assert query.words == [word]
    assert query.hashtags == query.mentions == query.authors == query.phrases == []


def test_the_query_is_normalised_before_parsing() -> None:
    composed = parse("  cafe\u0301  ")  # 'e' and a combining acute: one 'é' after NFC
    assert composed.words == ["café"]
    assert parse('" spaced   out "').phrases == ["spaced out"]


def test_an_empty_phrase_is_ignored_and_alone_it_is_nothing_to_search() -> None:
    assert parse('"   " word').phrases == []
    with pytest.raises(InvalidArgument, match="nothing to search for"):
        parse('"   "')
    with pytest.raises(InvalidArgument, match="nothing to search for"):
        parse('""')


@pytest.mark.parametrize(("q", "why"), [
    ("", "must not be empty"),
    (" \t\n ", "must not be empty"),
    ("x" * (MAX_QUERY + 1), f"at most {MAX_QUERY} characters"),
    ("a\x00b", "control characters"),
    ("bell\x07", "control characters"),
])
def test_refused_queries_name_the_q_field(q: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        parse(q)
    [violation] = refused.value.violations
    assert violation.field == "q"
    assert why in violation.description


def test_the_longest_query_and_whitespace_controls_are_fine() -> None:
    assert parse("x" * MAX_QUERY).words == ["x" * MAX_QUERY]
    assert parse("tab\tand\nnewline").words == ["tab", "and", "newline"]
    check_characters("line one\r\nline two\t")  # whitespace is not refused
    with pytest.raises(InvalidArgument):
        check_characters("escape \x1b[31m")


def test_is_empty() -> None:
    assert Query().is_empty
    assert not Query(authors=["bob"]).is_empty
    assert not Query(phrases=["a b"]).is_empty
