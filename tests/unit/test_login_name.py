"""Login names: one normal form for the lookup and the throttle (issue 22)."""

from __future__ import annotations

import pytest

from services.shared.errors import InvalidArgument
from services.users.domain import login_name
from services.users.login_throttle import source_of, throttle_key


@pytest.mark.parametrize(("typed", "normal"), [
    ("Alice_1", "alice_1"),
    ("  alice_1\t", "alice_1"),
    ("Alice@EXAMPLE.com", "alice@example.com"),
    (" alice@example.com ", "alice@example.com"),
    # NFC, as sign-up normalises addresses: U+212A is canonically "K"
    ("\u212aate@example.com", "kate@example.com"),
])
def test_spellings_of_one_name_have_one_form(typed: str, normal: str) -> None:
    assert login_name(typed) == normal


@pytest.mark.parametrize("typed", [
    "", "   ", "\u212aate",  # KELVIN SIGN: no username has it, whatever lower() makes of it
    "\uff41\uff42",  # fullwidth letters
    "a\x00b", "a\nb", "x" * 16, "a b", "a@b", "a\x00@example.com",
    "a@" + "b" * 300 + ".com", "x" * 3000,
])
def test_anything_else_is_invalid(typed: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        login_name(typed)
    assert [v.field for v in refused.value.violations] == ["username"]


def test_an_account_has_one_throttle_key_and_a_stranger_its_name() -> None:
    assert throttle_key("alice", 42) == throttle_key("alice@example.com", 42) == "user:42"
    assert throttle_key("nobody", None) == "name:nobody"


@pytest.mark.parametrize(("address", "source"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    # one /64 is one source: walking through it gains no fresh budget
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
    (None, "direct"), ("", "direct"), ("not an address", "direct"),
])
def test_a_source_is_an_address_or_an_ipv6_prefix(address: str | None, source: str) -> None:
    assert source_of(address) == source
