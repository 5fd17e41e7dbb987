import pytest

from services.shared.errors import InvalidArgument
from services.users.domain import is_http_url, validate_profile_update, validate_sign_up


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {v.field for v in exc.value.violations}


def test_valid_sign_up_is_normalised() -> None:
    s = validate_sign_up("Alice_1", "Alice@Example.COM", "longenough", "  Alice  ")
    assert (s.username, s.email, s.display_name) == ("Alice_1", "Alice@example.com", "Alice")


def test_display_name_defaults_to_username() -> None:
    assert validate_sign_up("bob", "bob@example.com", "longenough", "").display_name == "bob"


@pytest.mark.parametrize("username", ["", "a" * 16, "bad-name", "robert'); DROP TABLE users;--",
                                      "ünïcode", "space name"])
def test_bad_usernames(username: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_sign_up(username, "x@example.com", "longenough", "")
    assert fields(exc) == {"username"}


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_sign_up("ok", "not-an-email", "short", "")
    assert fields(exc) == {"email", "password"}


def test_bio_counts_code_points_not_bytes() -> None:
    assert validate_profile_update({"bio": "é" * 160})["bio"] == "é" * 160
    with pytest.raises(InvalidArgument):
        validate_profile_update({"bio": "x" * 161})


def test_website_must_be_http_url() -> None:
    assert validate_profile_update({"website": "https://example.com/me"})
    assert validate_profile_update({"website": ""}) == {"website": ""}
    for bad in ("javascript:alert(1)", "ftp://example.com", "https://", "example.com"):
        with pytest.raises(InvalidArgument):
            validate_profile_update({"website": bad})


def test_control_characters_rejected() -> None:
    with pytest.raises(InvalidArgument):
        validate_profile_update({"display_name": "evil\x00name"})
    assert validate_profile_update({"bio": "two\nlines"})["bio"] == "two\nlines"


def test_is_http_url() -> None:
    assert is_http_url("http://a.b")
    assert not is_http_url("http://exa mple.com")
